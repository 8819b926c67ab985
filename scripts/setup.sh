#!/usr/bin/env bash
# Install what corral needs and is missing: runc, a static busybox and tini
# from Debian, Deno and the npm libraries from the npm registry (package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /bin/busybox ] || need+=(busybox-static)
# `run --init` binds Debian's static tini into the container as its pid 1.
[ -x /usr/bin/tini-static ] || need+=(tini)
command -v tar >/dev/null 2>&1 || need+=(tar)
# The tests compress a refused upload with xz.
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
# tests/registry_test.ts and the pull benchmark: a local distribution registry,
# skopeo to put images into it, htpasswd (bcrypt) for its basic auth.
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
# Container networking (lib/network) calls the CNI plugins, which call iptables.
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
[ -x /usr/sbin/iptables ] || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# tests/interactive_test.ts drives `run -it` in a real terminal: tmux's.
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# tests/clients_test.ts drives corral with docker-py, on Debian's python3 (and
# with testcontainers and dockerode, npm devDependencies).
/usr/bin/python3 -c 'import docker' >/dev/null 2>&1 || need+=(python3-docker)
if [ "${CORRAL_WITH_DOCKER_CLI:-0}" = 1 ] && ! command -v docker >/dev/null 2>&1; then need+=(docker.io); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x node_modules/deno/deno ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing Deno and the npm libraries" >&2
  # `npm install` (not `npm ci`): npm records only this platform's Deno binary
  # in the lock, and `npm ci` then refuses the other platforms' optional ones.
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
