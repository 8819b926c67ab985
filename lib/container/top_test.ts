import assert from "node:assert/strict";
import { processTable, TOP_TITLES } from "./mod.ts";

Deno.test("processTable: ps -ef rows from /proc, sorted, gone pids left out", () => {
  const { Titles, Processes } = processTable([Deno.pid, 1, 2 ** 22 + 1]);
  assert.deepEqual(Titles, TOP_TITLES);
  assert.deepEqual(Processes.map((p) => p[1]), ["1", String(Deno.pid)]);
  const self = Processes[1];
  assert.equal(self.length, TOP_TITLES.length);
  assert.equal(self[0], "root", "uid 0 by its passwd name");
  assert.equal(self[2], String(Deno.ppid));
  assert.match(self[4], /^\d\d:\d\d$/, "started within the day: HH:MM");
  assert.match(self[6], /^\d\d:\d\d:\d\d$/);
  assert.ok(self[7].includes("deno"), self[7]);
});
