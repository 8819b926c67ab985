#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests on real runc
# containers (each test has its own root, state dir and socket).
set -uo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0
# The JSDoc examples type-check like the code; a stale one fails the suite.
./node_modules/deno/deno check --doc lib/ || exit
exec ./node_modules/deno/deno test -A --no-prompt --parallel "$@"
