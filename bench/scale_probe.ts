/**
 * Process readings for `bench/scale.ts`, written with `node:` builtins so
 * the same code reads them on Deno, Node and Bun: memory after a full GC
 * where the runtime exposes one (a memory-reducing one where V8 has it),
 * the resident set counted without the executable's file-backed pages
 * (see {@linkcode residentBytes}), CPU time, another process's resident set
 * (from `ps`), percentiles, and a bootstrap interval of a ratio of them.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import * as v8 from "node:v8";
import { prng } from "../src/testing/prng.ts";

/** V8's `--expose-gc` function: options since V8 12 (Deno 2, Node 22); older ones ignore them. */
type Gc = (options?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
type Globals = { gc?: Gc; Bun?: { gc(force: boolean): void } };
const globals = globalThis as Globals;

/** Whether a full GC can be forced (`--expose-gc` on Deno and Node; always on Bun). */
export const canCollect: boolean = globals.gc !== undefined || globals.Bun !== undefined;

/** Forces a full GC where the runtime allows it; does nothing elsewhere. */
export function collect(): void {
  if (globals.Bun) globals.Bun.gc(true);
  else globals.gc?.();
}

/** Resident set and heap in bytes. */
export interface Memory {
  /**
   * The process's own resident memory: anonymous (and shared anonymous)
   * pages, where Linux's `/proc/self/status` tells them apart
   * ({@linkcode residentBytes}); the whole resident set elsewhere.
   */
  rss: number;
  /** The whole resident set, file-backed pages of the runtime's executable included. */
  residentTotal: number;
  /** The JS heap in use. */
  heap: number;
}

/**
 * The resident memory the process allocated itself: `RssAnon` plus
 * `RssShmem` of `/proc/self/status`, or `process.memoryUsage().rss` where
 * that cannot be read (not Linux; Deno without `--allow-all`, which Deno
 * asks for to read anything under `/proc/self`).
 *
 * Why not the whole resident set: it also counts the pages of the
 * runtime's own executable (and shared libraries) that were read in from
 * the file the first time a code path ran. Those are clean, shared with
 * every process running the same executable, dropped by the kernel under
 * memory pressure without being written anywhere, and paid once, not per
 * listener: opening 500, 1,000 and 2,000 NATS listeners on Bun 1.4 pulled
 * in 1.1, 3.3 and 3.3 MiB of `bun`'s code pages (its JIT compilers' paths,
 * which one listener's warm-up does not reach), 3.3 KiB "per listener" of
 * a 1,000-listener run that no listener holds. Anonymous memory (the JS
 * heap, malloc, JIT code, stacks) is everything a listener does hold.
 */
export function residentBytes(): number {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const anon = /^RssAnon:\s+(\d+) kB$/m.exec(status);
    const shmem = /^RssShmem:\s+(\d+) kB$/m.exec(status);
    if (anon !== null) return (Number(anon[1]) + Number(shmem?.[1] ?? 0)) * 1024;
  } catch {
    // Not Linux, or no permission: the whole resident set below.
  }
  return process.memoryUsage().rss;
}

/**
 * A full GC that also hands back the young generation's empty pages, where
 * V8 has one (Deno 2, Node 22 and later: the "last resort" flavour, what
 * V8's memory reducer does by itself once a process idles); a plain full
 * GC elsewhere. Without it the resident set counts however far V8 grew
 * its young generation while the listeners opened (all of it empty after
 * the GC; 13 MiB of 2,000 NATS listeners' 25 on Deno), which it gives
 * back after some idle seconds anyway.
 */
function collectAll(): void {
  if (globals.Bun) globals.Bun.gc(true);
  else globals.gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}

/** A young generation at most this large counts as handed back (V8 keeps 0.25–2 MiB of it idle). */
const SETTLED_YOUNG_BYTES = 2 * 1024 * 1024;
/** The longest `memory()` waits for V8 to hand its young generation back by itself. */
const SETTLE_TIMEOUT_MS = 15_000;

/** The bytes V8 keeps for its young generation, or 0 where the runtime does not say (Bun). */
function youngGenerationBytes(): number {
  if (typeof v8.getHeapSpaceStatistics !== "function") return 0;
  try {
    return v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")
      ?.space_size ?? 0;
  } catch {
    return 0;
  }
}

/**
 * The least of a few readings, each after an event-loop turn and a full,
 * memory-reducing GC (`collectAll()`): the least is the one with the
 * least garbage left in it. Where V8 has no memory-reducing GC to ask
 * for (Node 20), it first waits, idle, until V8's memory reducer has
 * handed the young generation back (about 5 s), so that every runtime's
 * readings are taken in the same state.
 */
export async function memory(): Promise<Memory> {
  collectAll();
  for (
    let waited = 0;
    youngGenerationBytes() > SETTLED_YOUNG_BYTES && waited < SETTLE_TIMEOUT_MS;
    waited += 500
  ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    collectAll();
  }
  let rss = Infinity;
  let residentTotal = Infinity;
  let heap = Infinity;
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 3; i++) collectAll();
    const usage = process.memoryUsage();
    rss = Math.min(rss, residentBytes());
    residentTotal = Math.min(residentTotal, usage.rss);
    heap = Math.min(heap, usage.heapUsed);
  }
  return { rss, residentTotal, heap };
}

/** CPU time this process used, user plus system, in microseconds. */
export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** CPU time per wall-clock time over `seconds` of doing nothing, in % of one core. */
export async function idleCpuPercent(seconds: number): Promise<number> {
  const cpuBefore = cpuMicros();
  const wallBefore = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const wall = (performance.now() - wallBefore) * 1000;
  return ((cpuMicros() - cpuBefore) / wall) * 100;
}

/**
 * The resident set of process `pid` in bytes, as `ps` reports it (Deno
 * lets a program read another process's `/proc` entries only with
 * `--allow-all`), or `NaN` where it cannot be read.
 */
export function residentBytesOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const kib = execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" });
    return Number(kib.trim()) * 1024;
  } catch {
    return NaN;
  }
}

/** The `p` quantile (0–1) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  return quantileOfSorted([...values].sort((a, b) => a - b), p);
}

function quantileOfSorted(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/**
 * A bootstrap interval of `percentile(a, p) / percentile(b, p)` where `a`
 * and `b` are samples taken in rounds, round `i` of `a` beside round `i` of
 * `b`: each of `resamples` draws picks whole rounds with replacement (the
 * same picks on both sides) and pools them, so a slow spell that spoiled a
 * round widens the interval as it should (samples within a round are not
 * independent draws). Returns the `level` central share (e.g. 0.95) of the
 * drawn ratios. Draws come from a fixed-seed generator, so the same samples
 * give the same interval.
 */
export function bootstrapRatioInterval(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  p: number,
  { resamples = 400, level = 0.95 }: { resamples?: number; level?: number } = {},
): [number, number] {
  const rounds = Math.min(a.length, b.length);
  if (rounds === 0) return [NaN, NaN];
  const random = prng(0x5ca1e);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const picks = Array.from({ length: rounds }, () => Math.floor(random() * rounds));
    ratios.push(pooledQuantile(a, picks, p) / pooledQuantile(b, picks, p));
  }
  const tail = (1 - level) / 2;
  return [percentile(ratios, tail), percentile(ratios, 1 - tail)];
}

/** The `p` quantile of the rounds `picks` names, pooled. */
function pooledQuantile(rounds: readonly (readonly number[])[], picks: number[], p: number) {
  let size = 0;
  for (const pick of picks) size += rounds[pick]!.length;
  const pooled = new Float64Array(size);
  let at = 0;
  for (const pick of picks) {
    pooled.set(rounds[pick]!, at);
    at += rounds[pick]!.length;
  }
  // A typed array sorts numerically, with no comparator calls.
  return quantileOfSorted(pooled.sort(), p);
}
