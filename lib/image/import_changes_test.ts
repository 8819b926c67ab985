import assert from "node:assert/strict";
import { errorKind } from "../errdefs/mod.ts";
import { parseImportChanges } from "./import_changes.ts";

Deno.test("parseImportChanges applies docker import --change instructions in order", () => {
  assert.deepEqual(
    parseImportChanges([
      'CMD ["/bin/sh", "-c", "echo hi"]',
      "entrypoint /init --fast",
      'ENV A=1 B="two words" C=a\\ b',
      "ENV A 1 and more",
      "LABEL org.example=x 'quoted key'=y",
      "WORKDIR /srv/app",
      "USER 1000:1000",
      "STOPSIGNAL SIGINT",
    ]),
    {
      Cmd: ["/bin/sh", "-c", "echo hi"],
      Entrypoint: ["/bin/sh", "-c", "/init --fast"],
      Env: ["B=two words", "C=a b", "A=1 and more"],
      Labels: { "org.example": "x", "quoted key": "y" },
      WorkingDir: "/srv/app",
      User: "1000:1000",
      StopSignal: "SIGINT",
    },
  );
  // Not a JSON list of strings: the shell form, as Docker does.
  assert.deepEqual(parseImportChanges(["CMD [oops"]).Cmd, ["/bin/sh", "-c", "[oops"]);
  assert.deepEqual(parseImportChanges([]), {});
  assert.deepEqual(parseImportChanges(["VOLUME /data /logs", 'VOLUME ["/cache"]']).Volumes, {
    "/data": {},
    "/logs": {},
    "/cache": {},
  });
  assert.deepEqual(parseImportChanges(["EXPOSE 80 53/UDP", "EXPOSE 443/tcp"]).ExposedPorts, {
    "80/tcp": {},
    "53/udp": {},
    "443/tcp": {},
  });
});

Deno.test("parseImportChanges refuses what corral does not keep, by name", () => {
  const cases: [string, RegExp][] = [
    ["VOLUME data", /VOLUME: data is not an absolute path/],
    ["VOLUME [1]", /VOLUME: \[1\] is not a list of strings/],
    ["HEALTHCHECK CMD true", /HEALTHCHECK is not supported/],
    ["ONBUILD RUN x", /ONBUILD is not supported/],
    ["RUN make", /RUN is not a valid change command/],
    ["WORKDIR", /WORKDIR needs an argument/],
    ["ENV JUSTKEY", /"JUSTKEY" is not KEY=VALUE/],
    ['ENV A="open', /unterminated quote/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => parseImportChanges([change]), (err: Error) => {
      assert.equal(errorKind(err), "invalid", change);
      assert.match(err.message, message, change);
      return true;
    });
  }
});
