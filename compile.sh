#!/usr/bin/env bash
# Package corral as one executable (`deno compile`) when the denort base
# binary is available (online, or DENORT_BIN); otherwise as a self-contained
# folder: a bundled JS file, the deno binary and a launcher. The shim is the
# same program in both forms.
set -euo pipefail
cd "$(dirname "$0")"
export RUST_BACKTRACE=0
deno=./node_modules/deno/deno
mkdir -p dist
if "$deno" compile -A --no-prompt --config deno.json -o dist/corral main.ts >/tmp/corral-compile.log 2>&1 \
  && dist/corral --version >/dev/null 2>&1; then
  echo "compile.sh: built dist/corral (single executable)"
  exit 0
fi
echo "compile.sh: deno compile is not possible here (no denort base binary offline); building a self-contained folder" >&2
rm -f dist/corral
mkdir -p dist/corral.d
"$deno" bundle --config deno.json -o dist/corral.d/corral.js main.ts
# The shim's own bundle (started for every container): the whole program's
# bundle as a shim costs ~4.5 MiB more per container (BENCHMARKS.md).
"$deno" bundle --config deno.json -o dist/corral.d/shim.js lib/shim/main.ts
cp "$deno" dist/corral.d/deno
cat > dist/corral <<'LAUNCH'
#!/bin/sh
d="$(cd "$(dirname "$0")" && pwd)/corral.d"
RUST_BACKTRACE=0 exec "$d/deno" run -A --no-prompt --no-config "$d/corral.js" "$@"
LAUNCH
chmod +x dist/corral
dist/corral --version
echo "compile.sh: built dist/corral (launcher) + dist/corral.d/ (bundle and deno)"
