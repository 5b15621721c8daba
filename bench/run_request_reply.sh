#!/usr/bin/env bash
# Runs bench/request_reply.ts on Deno from source and on Node and Bun from the
# npm build (compiled into dist/npm-roles by `deno task build:npm`).
#
# Usage: bash bench/run_request_reply.sh [round trips per level]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3000}
deno task -q build:npm --if-stale
script=dist/npm-roles/bench/request_reply.js
deno run --allow-net=127.0.0.1 --allow-env --v8-flags=--expose-gc bench/request_reply.ts "$count"
node --expose-gc "$script" "$count"
node24=${BUS_CROSS_NODE24:-.ci/tools/node24/node_modules/.bin/node}
if [ -x "$node24" ]; then "$node24" --expose-gc "$script" "$count"; fi
bun=${BUS_CROSS_BUN:-$(command -v bun || echo .ci/tools/bun/node_modules/.bin/bun)}
if [ -x "$bun" ]; then "$bun" --expose-gc "$script" "$count"; fi
