#!/usr/bin/env bash
# Runs bench/scale.ts over HTTP and over NATS on Deno from source, and as one
# bundle (`deno bundle`, with bench/scale_floor.ts beside it) on the machine's
# Node, every Node .ci/run installed (Node 22, 24, 26) and Bun; the reference
# server is always bench/scale_server.ts on Deno. Prints each run's JSON line,
# then one table. Needs nats-server on PATH for the NATS rows.
#
# Bun runs at most BUN_CONFIG_MAX_HTTP_REQUESTS fetches at once (default 256):
# its HTTP row is run with the limit raised above the listener count, after a
# run at the default that shows the client's too_many_streams error.
#
# Usage: bash bench/run_scale.sh [listeners] [more bench/scale.ts flags]
set -euo pipefail
cd "$(dirname "$0")/.."
listeners=${1:-1000}
shift || true
flags=(--listeners "$listeners" "$@")
out=.bench-out
mkdir -p "$out"
for script in scale scale_floor scale_pending; do
  deno bundle --quiet --platform deno --format esm -o "$out/$script.mjs" "bench/$script.ts"
done
results="$out/scale.jsonl"
: >"$results"

run() { # <label> <command…>: runs both transports, keeps the JSON lines
  local label=$1 transport
  shift
  for transport in http nats; do
    echo "== $label $transport" >&2
    # tee -a: without it tee truncates a stderr redirected to a file at every run.
    if "$@" --transport "$transport" "${flags[@]}" | tee -a /dev/stderr | tail -n 1 >>"$results.tmp"; then
      cat "$results.tmp" >>"$results"
    else
      echo "$label $transport: failed (see above)" >&2
    fi
    rm -f "$results.tmp"
  done
}

# --allow-all: Deno lets nothing less read /proc/self/status, where the
# memory reading takes the anonymous resident set (bench/scale_probe.ts).
run deno deno run --allow-all --v8-flags=--expose-gc bench/scale.ts
run node node --expose-gc "$out/scale.mjs"
for major in 22 24 26; do
  var="BUS_CROSS_NODE$major"
  node=${!var:-.ci/tools/node$major/node_modules/.bin/node}
  if [ -x "$node" ]; then run "node$major" "$node" --expose-gc "$out/scale.mjs"; fi
done
bun=${BUS_CROSS_BUN:-$(command -v bun || echo .ci/tools/bun/node_modules/.bin/bun)}
if [ -x "$bun" ]; then
  echo "== bun http at the default BUN_CONFIG_MAX_HTTP_REQUESTS (expected to fail clearly)" >&2
  "$bun" "$out/scale.mjs" --transport http "${flags[@]}" --open-timeout 30 2>&1 |
    grep -m 1 -o 'Cannot open stream: this client already holds [^)]*)' >&2 || true
  BUN_CONFIG_MAX_HTTP_REQUESTS=$((listeners + 1024)) run bun "$bun" "$out/scale.mjs"
fi

# One row per runtime and transport.
deno eval --quiet '
const rows = Deno.readTextFileSync(Deno.args[0]).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const columns = [
  ["runtime", "runtime"], ["transport", "transport"], ["RSS KiB/listener", "rssKiBPerListener"],
  ["floor RSS KiB", "floorRssKiBPerListener"], ["heap KiB/listener", "heapKiBPerListener"],
  ["floor heap KiB", "floorHeapKiBPerListener"], ["open s", "openSeconds"],
  ["publish p99 N/1", "publishP99Ratio"], ["p50 N/1", "publishP50Ratio"],
  ["p99 N/1 95 % interval", "publishP99RatioInterval"], ["p99 N/1 per pair of rounds", "publishP99RatioRounds"],
  ["client CPU/publish N/1", "publishCpuRatio"],
  ["idle CPU %", "idleCpuPercent"], ["floor idle CPU %", "floorIdleCpuPercent"],
  ["heap B/pending request", "pendingHeapBytesPerRequest"],
  ["server RSS KiB/listener", "serverRssKiBPerListener"],
];
console.log(`| ${columns.map(([title]) => title).join(" | ")} |`);
console.log(`|${columns.map(() => "---").join("|")}|`);
// An interval reads low–high; the per-pair ratios one after another.
const cell = (key, value) =>
  Array.isArray(value) ? value.join(key.endsWith("Interval") ? "–" : " ") : value ?? "";
for (const row of rows) console.log(`| ${columns.map(([, key]) => cell(key, row[key])).join(" | ")} |`);
' "$results"
