/**
 * A tiny timing harness for the decoder cases that runs on Deno, Node and
 * Bun alike (bundle it first: see `run_cross.sh`). For each case: warm up,
 * time N runs, print the median and its ratio to the floor, and one
 * `RESULT` line per case for the script to tabulate.
 *
 * Usage: `<runtime> decode_cross.mjs [iterations] [warmup]`
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { cases, makeCorpus } from "./decode_cases.ts";

type Runtimes = {
  Deno?: unknown;
  Bun?: { gc?: (force: boolean) => void };
  process?: { argv?: string[] };
  gc?: () => void;
};
const global = globalThis as Runtimes;
const runtime = global.Deno !== undefined ? "deno" : global.Bun !== undefined ? "bun" : "node";
const args = global.Deno !== undefined
  ? (global.Deno as { args: string[] }).args
  : (global.process?.argv ?? []).slice(2);
const iterations = Number(args[0] ?? 9);
const warmup = Number(args[1] ?? 2);
// Collecting before each run keeps one case's garbage off the next one's
// clock (Deno: --v8-flags=--expose-gc, Node: --expose-gc, Bun: built in).
const collectGarbage = global.gc ?? (global.Bun?.gc ? () => global.Bun?.gc?.(true) : () => {});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const corpus = makeCorpus();
const expected = corpus.strings.length;
console.log(
  `${runtime}: ${expected} envelopes, ${(corpus.ndjsonBytes / 1e6).toFixed(1)} MB NDJSON, ` +
    `${iterations} runs after ${warmup} warm-up runs`,
);

// Rounds interleave the cases so that drift on a busy machine hits all alike.
const samples = cases.map(() => [] as number[]);
for (let round = 0; round < warmup + iterations; round++) {
  for (const [index, benchCase] of cases.entries()) {
    collectGarbage();
    const started = performance.now();
    const count = await benchCase.run(corpus);
    const elapsed = performance.now() - started;
    if (count !== expected) {
      throw new Error(`Cannot trust ${benchCase.name}: decoded ${count} of ${expected}`);
    }
    if (round >= warmup) samples[index]?.push(elapsed);
  }
}

const floor = median(samples[0] as number[]);
for (const [index, benchCase] of cases.entries()) {
  const ms = median(samples[index] as number[]);
  const ratio = ms / floor;
  console.log(`${benchCase.name.padEnd(42)} ${ms.toFixed(1).padStart(8)} ms  ${ratio.toFixed(2)}x`);
  console.log(`RESULT\t${runtime}\t${benchCase.name}\t${ms.toFixed(1)}\t${ratio.toFixed(3)}`);
}
