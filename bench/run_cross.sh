#!/usr/bin/env bash
# Bundles bench/decode_cross.ts once with `deno bundle` and runs the same
# bundle on Deno, Node and Bun, each case in a process of its own paired
# with the JSON.parse floor, then prints each case's median time and ratio
# to the floor, per runtime.
#
# Usage: bench/run_cross.sh [iterations] [warm-up runs]
# CASES="0 7 8" runs only those case indexes (the floor always runs with each).
# BASE=<git revision> also runs that revision's case of the same name beside
# each case, in the same process and rounds, named "… [base]": before and
# after measured together, so that the machine's load hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."

iterations=${1:-9}
warmup=${2:-2}
out=.bench-out
mkdir -p "$out"
deno bundle --quiet --platform browser --format esm -o "$out/decode_cross.mjs" bench/decode_cross.ts
: >"$out/results.tsv"
base=()
if [[ -n ${BASE:-} ]]; then
  rm -rf "$out/base"
  mkdir -p "$out/base"
  git archive "$BASE" src bench deno.json | tar -x -C "$out/base"
  deno bundle --quiet --config "$out/base/deno.json" --platform browser --format esm \
    -o "$out/decode_cases_base.mjs" "$out/base/bench/decode_cases.ts"
  base=("file://$PWD/$out/decode_cases_base.mjs")
fi

run() {
  local runtime=$1
  shift
  if ! command -v "$1" >/dev/null; then
    echo "$runtime: not installed, skipped"
    return
  fi
  local count indexes
  count=$("$@" "$out/decode_cross.mjs" count)
  indexes=${CASES:-$(seq 0 $((count - 1)))}
  : >"$out/$runtime.txt"
  for index in $indexes; do
    "$@" "$out/decode_cross.mjs" "$iterations" "$warmup" "$index" "${base[@]}" >>"$out/$runtime.txt"
  done
  grep '^RESULT' "$out/$runtime.txt" >>"$out/results.tsv"
  echo "$runtime: done"
}

run deno deno run --allow-read="$out"
run node node
# Every other Node that .ci/run installed (.ci/tools/node<major>), named by
# its major version inside decode_cross.ts.
for node in .ci/tools/node*/node_modules/.bin/node; do
  [[ -x $node ]] && run "node$("$node" -p 'process.versions.node.split(".")[0]')" "$node"
done
# Bun from PATH, else where .ci/run installed it (or BUS_CROSS_BUN).
bun=${BUS_CROSS_BUN:-$(command -v bun || echo .ci/tools/bun/node_modules/.bin/bun)}
run bun "$bun"

# One row per case, one column per runtime: "median ratio / best-run ratio (median ms)".
awk -F'\t' '
  !($3 in seen) { seen[$3] = 1; cases[++ncases] = $3 }
  !($2 in known) { known[$2] = 1; runtimes[++nruntimes] = $2 }
  { cell[$3, $2] = sprintf("%.2fx / %.2fx (%.0f ms)", $5, $7, $4) }
  END {
    printf "%-58s", "ratio to floor: median / best (median ms)"
    for (r = 1; r <= nruntimes; r++) printf "  %-26s", runtimes[r]
    printf "\n"
    for (c = 1; c <= ncases; c++) {
      printf "%-58s", cases[c]
      for (r = 1; r <= nruntimes; r++) printf "  %-26s", cell[cases[c], runtimes[r]]
      printf "\n"
    }
  }' "$out/results.tsv"
