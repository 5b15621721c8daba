#!/usr/bin/env bash
# Runs bench/request_reply.ts on Deno from source and on Node and Bun from the
# npm build (compiled into dist/npm-roles by `deno task build:npm`): the
# machine's node, then each Node .ci/run installs for the cross-runtime suite.
#
# Usage: bash bench/run_request_reply.sh [round trips per level] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3000}
rounds=${2:-3}
deno task -q build:npm --if-stale
script=dist/npm-roles/bench/request_reply.js
deno run --allow-net=127.0.0.1 --allow-env --v8-flags=--expose-gc bench/request_reply.ts "$count" "$rounds"
node --expose-gc "$script" "$count" "$rounds"
for major in 22 24 26; do
  var="BUS_CROSS_NODE$major"
  executable=${!var:-.ci/tools/node$major/node_modules/.bin/node}
  if [ -x "$executable" ]; then "$executable" --expose-gc "$script" "$count" "$rounds"; fi
done
bun=${BUS_CROSS_BUN:-$(command -v bun || echo .ci/tools/bun/node_modules/.bin/bun)}
if [ -x "$bun" ]; then "$bun" --expose-gc "$script" "$count" "$rounds"; fi
