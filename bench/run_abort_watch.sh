#!/usr/bin/env bash
# Runs bench/abort_watch.ts on Deno from source, and as one bundle on the
# machine's Node, every Node .ci/run installed (Node 22, 24, 26) and Bun.
#
# Usage: bash bench/run_abort_watch.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-9}
out=.bench-out
mkdir -p "$out"
deno bundle --quiet --platform deno --format esm -o "$out/abort_watch.mjs" bench/abort_watch.ts
deno run bench/abort_watch.ts "$rounds"
# --no-warnings: the baseline puts 1,000 listeners on one signal, which Node warns about.
node --no-warnings "$out/abort_watch.mjs" "$rounds"
for major in 22 24 26; do
  var="BUS_CROSS_NODE$major"
  executable=${!var:-.ci/tools/node$major/node_modules/.bin/node}
  if [ -x "$executable" ]; then "$executable" --no-warnings "$out/abort_watch.mjs" "$rounds"; fi
done
bun=${BUS_CROSS_BUN:-$(command -v bun || echo .ci/tools/bun/node_modules/.bin/bun)}
if [ -x "$bun" ]; then "$bun" "$out/abort_watch.mjs" "$rounds"; fi
