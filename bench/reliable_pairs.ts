/**
 * What each of retry, idempotency and ordering costs the worker, read in
 * pairs: every pair reads the keyed corpus once with none of them (the
 * baseline) and once with one configuration, in alternating order, so that
 * the machine's drift over a run (on this one the baseline alone moved by
 * up to ±4 % between `deno bench` runs) falls on both sides of each pair.
 * It prints the median of the pairs' ratios (baseline time / time) with
 * their quartiles, per configuration; its last line is one JSON object.
 *
 * - `all`: retry, idempotency and ordering, each read with a fresh store
 *   (what the worker table's row in `bench/worker_bench.ts` runs);
 * - `idempotency`, `ordering`, `retry`: each alone;
 * - `steady`: idempotency with one store shared by every read, each read
 *   under a `source` of its own so that its keys are new to the store:
 *   after the first read the store is full, and every claim evicts the
 *   oldest key, as in a worker that has run for a while.
 *
 * Run: deno task bench:reliable [--pairs N] (default 30, at least 3)
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on stdout
import { MemoryIdempotencyStore, type WorkerOptions } from "../mod.ts";
import {
  EVENTS,
  orderingKey,
  readThrough,
  reliableOptions,
  serveCorpora,
} from "./worker_corpus.ts";
import { percentile } from "./scale_probe.ts";

/** The pairs per configuration given by `--pairs N`, or 30; exits with status 2 on anything else. */
function pairsFrom(args: string[]): number {
  if (args.length === 0) return 30;
  const pairs = Number(args[1]);
  if (args[0] === "--pairs" && args.length === 2 && Number.isInteger(pairs) && pairs >= 3) {
    return pairs;
  }
  console.error(`Cannot run: expected [--pairs N] with N an integer >= 3, got ${args.join(" ")}`);
  Deno.exit(2);
}

const pairs = pairsFrom(Deno.args);
const steadyStore = new MemoryIdempotencyStore({ maxEntries: EVENTS });
let steadyReads = 0;
const configurations: Record<string, () => Partial<WorkerOptions>> = {
  all: () => reliableOptions(),
  idempotency: () => ({
    idempotency: { store: new MemoryIdempotencyStore({ maxEntries: EVENTS }) },
  }),
  ordering: () => ({ idempotency: false, orderingKey }),
  retry: () => ({ idempotency: false, retry: { attempts: 3, delay: 0 } }),
  steady: () => ({ source: `steady-${steadyReads++}`, idempotency: { store: steadyStore } }),
};
const baseline = (): Partial<WorkerOptions> => ({ idempotency: false });

const corpora = await serveCorpora();
const read = (options: Partial<WorkerOptions>) =>
  readThrough(corpora.client, 16, "bench.reliable", options);
const timed = async (options: Partial<WorkerOptions>) => {
  const started = performance.now();
  await read(options);
  return performance.now() - started;
};

const results: Record<string, { median: number; q1: number; q3: number; baselineMs: number }> = {};
for (const [name, configuration] of Object.entries(configurations)) {
  // Warm both sides up before counting.
  for (let i = 0; i < 3; i++) {
    await read(baseline());
    await read(configuration());
  }
  const ratios: number[] = [];
  const baselineTimes: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // Alternate which side runs first, so that neither always runs warmer.
    let base: number, time: number;
    if (i % 2 === 0) {
      base = await timed(baseline());
      time = await timed(configuration());
    } else {
      time = await timed(configuration());
      base = await timed(baseline());
    }
    ratios.push(base / time);
    baselineTimes.push(base);
  }
  const result = {
    median: percentile(ratios, 0.5),
    q1: percentile(ratios, 0.25),
    q3: percentile(ratios, 0.75),
    baselineMs: percentile(baselineTimes, 0.5),
  };
  results[name] = result;
  console.log(
    `${name.padEnd(12)} ${result.median.toFixed(3)} of the baseline (quartiles ` +
      `${result.q1.toFixed(3)}–${result.q3.toFixed(3)}; baseline median ${
        result.baselineMs.toFixed(1)
      } ms, ${pairs} pairs)`,
  );
}
corpora.close();
const round = (value: number) => Math.round(value * 1000) / 1000;
console.log(JSON.stringify({
  runtime: `deno ${Deno.version.deno}`,
  pairs,
  ...Object.fromEntries(Object.entries(results).map(([name, r]) => [name, round(r.median)])),
}));
