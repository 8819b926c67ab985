"""A docker-py program as a user writes one, run with Debian's python3 by
tests/clients_test.ts against a test daemon (DOCKER_HOST):
`python3 docker_py.py HOST_DIR`. It prints what it saw as one JSON object."""
import json
import sys

import docker

client = docker.from_env()
host_dir = sys.argv[1]
report = {}

web = client.containers.run(
    "busybox",
    ["sh", "-c", "echo ready; exec sleep 600"],
    detach=True,
    name="py-web",
    labels={"suite": "docker-py"},
    volumes={host_dir: {"bind": "/data", "mode": "ro"}},
)
report["exec"] = list(web.exec_run(["cat", "/data/in.txt"]))
report["write_read_only"] = web.exec_run(["touch", "/data/new"]).exit_code
listed = client.containers.run("busybox", "sleep 600", detach=True, volumes=[f"{host_dir}:/list:ro"])
report["exec_list_form"] = list(listed.exec_run("cat /list/in.txt"))
report["logs"] = web.logs()

# attach_socket: a hijacked connection; stdin in, Docker's frames out.
cat = client.containers.run("busybox", "cat", detach=True, stdin_open=True)
sock = cat.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
sock._sock.settimeout(20)
sock._sock.sendall(b"via-socket\n")
seen = b""
while len(seen) < 8 + len(b"via-socket\n"):
    chunk = sock._sock.recv(4096)
    if not chunk:
        break
    seen += chunk
report["attach_socket"] = [seen[0], seen[8:]]
sock._sock.close()
cat.remove(force=True)

# kill then remove at once, as scripts do: the kill has waited for the exit.
for _ in range(10):
    victim = client.containers.run("busybox", "sleep 600", detach=True)
    victim.kill()
    victim.remove()
report["after_kill_remove"] = len(client.containers.list(all=True))

# Volumes: a named one created, written, read back by another container;
# refused while a container uses it; an anonymous one pruned once unused.
volume = client.volumes.create(name="py-data", labels={"suite": "docker-py"})
client.containers.run(
    "busybox", ["sh", "-c", "echo persisted > /v/f"], volumes={"py-data": {"bind": "/v", "mode": "rw"}}, remove=True
)
report["volume_read"] = client.containers.run("busybox", "cat /v/f", volumes=["py-data:/v:ro"], remove=True)
report["volume_labels"] = client.volumes.get("py-data").attrs["Labels"]
anon = client.containers.run("busybox", "true", volumes=["/cache"], detach=True)
anon.wait()
report["anonymous"] = [
    (m["Type"], m["Destination"], m["Driver"]) for m in client.api.inspect_container(anon.id)["Mounts"]
]
anon.remove()
holder = client.containers.create("busybox", "true", volumes=["py-data:/v"])
try:
    volume.remove()
    report["in_use"] = None
except docker.errors.APIError as err:
    report["in_use"] = [err.status_code, err.explanation]
report["volume_prune"] = len(client.volumes.prune()["VolumesDeleted"])
holder.remove()
volume.remove()
report["volumes_left"] = client.volumes.list()
try:
    client.images.pull("alpine:3.19")
    report["pull"] = None
except docker.errors.APIError as err:
    report["pull"] = err.explanation

report["dangling"] = [i.id for i in client.images.list(filters={"dangling": True})]
report["images"] = [i.tags for i in client.images.list()]
web.remove(force=True)
listed.remove(force=True)
report["image_prune"] = client.images.prune(filters={"dangling": True})
report["container_prune"] = client.containers.prune()
report["networks"] = sorted(n.name for n in client.networks.list())
report["df"] = sorted(client.df())


class Bytes(json.JSONEncoder):
    def default(self, o):
        return o.decode() if isinstance(o, bytes) else super().default(o)


print(json.dumps(report, cls=Bytes))
