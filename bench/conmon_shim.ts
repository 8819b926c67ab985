/**
 * conmon as a corral shim, a prototype for the shim footprint comparison: a
 * small sh wrapper that takes `corral shim` arguments, keeps the exit fifo's
 * write end open on an fd that conmon inherits (so the fifo closes when conmon
 * exits), runs conmon (subreaper, `runc create`, log copy, exit code file
 * written with fsync + rename) and prints corral's handshake line from
 * conmon's sync message. conmon's own formats stay: the log is k8s-file
 * (`TIME STREAM F LINE`) and the exit code a plain number in
 * `BUNDLE/conmon/exit`.
 * @module
 */
import { join } from "node:path";

/**
 * The wrapper. fd 9 holds the exit fifo (conmon closes some low fds of its
 * own before writing its exit file); fd 3 is conmon's sync "pipe", a regular
 * file here, so conmon never gets SIGPIPE once the wrapper has gone.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("/tmp/conmon-shim", CONMON_SHIM_SCRIPT, { mode: 0o755 });
 * ```
 */
export const CONMON_SHIM_SCRIPT = `#!/bin/sh
shift
while [ $# -gt 1 ]; do
  case $1 in
    --id) id=$2 ;;
    --bundle) bundle=$2 ;;
    --runtime) runtime=$2 ;;
    --runtime-root) runtimeRoot=$2 ;;
    --log) log=$2 ;;
    --log-max-size) logMax=$2 ;;
  esac
  shift 2
done
dir=$bundle/conmon
mkdir -p "$dir"
exec 9>"$bundle/exit_fifo"
_OCI_SYNCPIPE=3 conmon --api-version 1 -c "$id" -u "$id" -n "$id" -r "$runtime" \\
  -b "$bundle" -p "$bundle/init.pid" -l "k8s-file:$log" --log-size-max "$logMax" \\
  --exit-dir "$dir" --persist-dir "$dir" --socket-dir-path "$dir" \\
  --runtime-arg --root --runtime-arg "$runtimeRoot" \\
  3>"$dir/sync" </dev/null >"$dir/conmon.out" 2>&1
exec 9>&-
until [ -s "$dir/sync" ]; do sleep 0.002; done
pid=$(sed -n 's/.*"data": *\\(-\\{0,1\\}[0-9]*\\).*/\\1/p' "$dir/sync" | head -n 1)
if [ "\${pid:-0}" -gt 0 ]; then
  start=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
  printf '{"ok":true,"pid":%s,"startTime":%s}\\n' "$pid" "$start"
else
  printf '{"ok":false,"error":"conmon: %s"}\\n' "$(tr -d '"\\\\\\n' < "$dir/sync")"
fi
`;

/**
 * Write the wrapper into `dir`; returns its path (an argv prefix for
 * `launchShim`, which appends `shim --id …`).
 *
 * @example
 * ```ts
 * const shim = await writeConmonShim("/tmp/bench");
 * await launchShim(opts, [shim]);
 * ```
 */
export async function writeConmonShim(dir: string): Promise<string> {
  const path = join(dir, "conmon-shim");
  await Deno.writeTextFile(path, CONMON_SHIM_SCRIPT, { mode: 0o755 });
  return path;
}

/**
 * The exit code conmon recorded for a container of the wrapper, or null.
 *
 * @example
 * ```ts
 * await conmonExitCode("/run/corral/containers/ID"); // 137
 * ```
 */
export async function conmonExitCode(bundle: string): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile(join(bundle, "conmon", "exit"))).trim());
  } catch {
    return null;
  }
}
