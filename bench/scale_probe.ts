/**
 * Process readings for `bench/scale.ts`, written with `node:` builtins so
 * the same code reads them on Deno, Node and Bun: memory after a full GC
 * where the runtime exposes one, CPU time, another process's resident set
 * (from `ps`), and percentiles.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import process from "node:process";

type Globals = { gc?: () => void; Bun?: { gc(force: boolean): void } };
const globals = globalThis as Globals;

/** Whether a full GC can be forced (`--expose-gc` on Deno and Node; always on Bun). */
export const canCollect: boolean = globals.gc !== undefined || globals.Bun !== undefined;

/** Forces a full GC where the runtime allows it. */
function collect(): void {
  if (globals.Bun) globals.Bun.gc(true);
  else globals.gc?.();
}

/** Resident set and heap in bytes. */
export interface Memory {
  rss: number;
  heap: number;
}

/**
 * The least of a few readings, each after an event-loop turn and a full GC:
 * the least is the one with the least garbage left in it.
 */
export async function memory(): Promise<Memory> {
  let rss = Infinity;
  let heap = Infinity;
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 3; i++) collect();
    const usage = process.memoryUsage();
    rss = Math.min(rss, usage.rss);
    heap = Math.min(heap, usage.heapUsed);
  }
  return { rss, heap };
}

/** CPU time this process used, user plus system, in microseconds. */
export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
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
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}
