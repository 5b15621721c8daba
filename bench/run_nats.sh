#!/usr/bin/env bash
# Runs bench/nats.ts on Deno from source and on Node and Bun from the npm
# build (compiled into dist/npm-roles by `deno task build:npm`). Each run
# starts its own nats-server (needs it on PATH) unless NATS_URL is set.
#
# Usage: bash bench/run_nats.sh [round trips per level] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3000}
rounds=${2:-5}
deno task -q build:npm --if-stale
script=dist/npm-roles/bench/nats.js
deno run --allow-net=127.0.0.1 --allow-env --allow-read --allow-write --allow-run=nats-server --allow-sys bench/nats.ts "$count" "$rounds"
# The machine's node, then each Node .ci/run installs for the cross-runtime suite.
node "$script" "$count" "$rounds"
for major in 22 24 26; do
  var="BUS_CROSS_NODE$major"
  executable=${!var:-.ci/tools/node$major/node_modules/.bin/node}
  if [ -x "$executable" ]; then "$executable" "$script" "$count" "$rounds"; fi
done
bun=${BUS_CROSS_BUN:-$(command -v bun || echo .ci/tools/bun/node_modules/.bin/bun)}
if [ -x "$bun" ]; then "$bun" "$script" "$count" "$rounds"; fi
