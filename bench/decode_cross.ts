/**
 * A tiny timing harness for the decoder cases that runs on Deno, Node and
 * Bun alike (bundle it first: see `run_cross.sh`). For each case: warm up,
 * time N runs, print the median and its ratio to the floor, and one
 * `RESULT` line per case for the script to tabulate.
 *
 * Besides wall time it measures the process's CPU time where the runtime
 * has `process.cpuUsage()` (all three do): on a shared machine, waiting for
 * a core inflates wall time but not CPU time, so the CPU ratio is the
 * steadier one.
 *
 * Each case can run in a process of its own, paired with the floor
 * (`run_cross.sh` does that): cases then share no heap, no garbage and no
 * call sites, so one case's leftovers (a megamorphic `reader.read()` in the
 * shared drain loop, a grown young generation) do not tax the next.
 *
 * With a fourth argument, the URL of another revision's `decode_cases.ts`
 * bundled on its own (`BASE=<rev>` in `run_cross.sh` makes one), each case
 * runs beside that revision's case of the same name, named `… [base]`:
 * before and after in the same process, rounds interleaved, against the
 * same floor.
 *
 * Usage: `<runtime> decode_cross.mjs [iterations] [warmup] [case index] [base URL]`;
 * `<runtime> decode_cross.mjs count` prints the number of cases.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { cases, type DecodeCase, makeCorpus } from "./decode_cases.ts";

type Runtimes = {
  Deno?: unknown;
  Bun?: unknown;
  process?: {
    argv?: string[];
    versions?: { node?: string };
    cpuUsage?: () => { user: number; system: number };
  };
};
const global = globalThis as Runtimes;
// Node is named with its major version, since the scripts compare several.
const runtime = global.Deno !== undefined
  ? "deno"
  : global.Bun !== undefined
  ? "bun"
  : `node${global.process?.versions?.node?.split(".")[0] ?? ""}`;
const args = global.Deno !== undefined
  ? (global.Deno as { args: string[] }).args
  : (global.process?.argv ?? []).slice(2);
const cpuUsage = global.process?.cpuUsage?.bind(global.process);
const cpuMs = cpuUsage
  ? () => {
    const { user, system } = cpuUsage();
    return (user + system) / 1000;
  }
  : () => Number.NaN;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

if (args[0] === "count") {
  console.log(cases.length);
} else {
  const only = args[2] === undefined ? undefined : Number(args[2]);
  const base = args[3] === undefined ? [] : await baseCases(args[3]);
  await benchmark(Number(args[0] ?? 9), Number(args[1] ?? 2), only, base);
}

/** The cases of another revision's bundled `decode_cases.ts`, renamed `… [base]`. */
async function baseCases(url: string): Promise<DecodeCase[]> {
  const module = await import(url) as { cases?: DecodeCase[] };
  if (!Array.isArray(module.cases)) throw new Error(`Cannot compare: ${url} exports no cases`);
  return module.cases.map((benchCase) => ({ ...benchCase, name: `${benchCase.name} [base]` }));
}

/**
 * Times the floor and either every case or only case `only`, interleaved,
 * each followed by its namesake among `base` if there is one.
 */
async function benchmark(
  iterations: number,
  warmup: number,
  only: number | undefined,
  base: DecodeCase[],
) {
  const selected = cases.filter((_, index) => index === 0 || only === undefined || index === only)
    .flatMap((benchCase, index) => {
      const before = base.find(({ name }) => name === `${benchCase.name} [base]`);
      return index === 0 || before === undefined ? [benchCase] : [before, benchCase];
    });
  const corpus = makeCorpus();
  const expected = corpus.strings.length;
  console.log(
    `${runtime}: ${expected} envelopes, ${(corpus.ndjsonBytes / 1e6).toFixed(1)} MB NDJSON, ` +
      `${iterations} runs after ${warmup} warm-up runs`,
  );

  // Rounds interleave the cases so that drift on a busy machine hits all alike.
  // No forced GC between runs: V8 shrinks its young generation after one,
  // which penalises streaming (many short-lived objects) far more than a
  // long-running listener ever sees.
  const samples = selected.map(() => [] as number[]);
  const cpuSamples = selected.map(() => [] as number[]);
  for (let round = 0; round < warmup + iterations; round++) {
    for (const [index, benchCase] of selected.entries()) {
      const started = performance.now();
      const cpuStarted = cpuMs();
      const count = await benchCase.run(corpus);
      const elapsed = performance.now() - started;
      const cpu = cpuMs() - cpuStarted;
      if (count !== expected) {
        throw new Error(`Cannot trust ${benchCase.name}: decoded ${count} of ${expected}`);
      }
      if (round >= warmup) {
        samples[index]?.push(elapsed);
        cpuSamples[index]?.push(cpu);
      }
    }
  }

  const floor = median(samples[0] as number[]);
  const cpuFloor = median(cpuSamples[0] as number[]);
  const bestFloor = Math.min(...samples[0] as number[]);
  console.log(`${"case".padEnd(48)} ${"median".padStart(9)}  ratio  cpu ratio  best ratio`);
  for (const [index, benchCase] of selected.entries()) {
    // A run of one case still times the floor; only the floor's own run lists it.
    if (index === 0 && only !== undefined && only !== 0) continue;
    const ms = median(samples[index] as number[]);
    const ratio = ms / floor;
    const cpuRatio = median(cpuSamples[index] as number[]) / cpuFloor;
    // Noise on a shared machine only ever adds time, so best against best
    // is the steadiest estimate of the work itself.
    const bestRatio = Math.min(...samples[index] as number[]) / bestFloor;
    const ratios = [ratio, cpuRatio, bestRatio].map((r) => `${r.toFixed(2)}x`).join("  ");
    console.log(`${benchCase.name.padEnd(48)} ${ms.toFixed(1).padStart(6)} ms  ${ratios}`);
    console.log(
      `RESULT\t${runtime}\t${benchCase.name}\t${ms.toFixed(1)}\t${ratio.toFixed(3)}\t${
        cpuRatio.toFixed(3)
      }\t${bestRatio.toFixed(3)}`,
    );
  }
}
