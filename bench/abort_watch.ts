/**
 * Watching one `AbortSignal`: `addEventListener` / `removeEventListener`
 * (the baseline) against `watchAbort()` / `unwatchAbort()`, in the same
 * run, alternating round by round, in two patterns:
 *
 * - one watcher comes and goes while `resident` others watch: 0 (a signal
 *   of its own per operation), 15 and 127 (a worker's handler signal with
 *   that many handlers in flight, each publish and wait watching it);
 * - N watchers come, then go in reverse (the order a host's registrations
 *   stop in, the worst for a listener list): 1,000 and 10,000 (a big
 *   host's stop signal, watched by every listener and stream).
 *
 * Run: `deno run bench/abort_watch.ts [rounds]`; `bash bench/run_abort_watch.sh`
 * runs the same bundle on Node and Bun too.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { unwatchAbort, watchAbort } from "../src/abort_watch.ts";

type Host = { Deno?: { args: string[] }; Bun?: unknown; process?: { argv: string[] } };
const host = globalThis as Host;
const runtime = host.Deno ? "deno" : host.Bun ? "bun" : "node";
const args = host.Deno ? host.Deno.args : (host.process?.argv ?? []).slice(2);
const rounds = Number(args[0] ?? 9);

/** How one watcher starts and stops watching a signal. */
interface Way {
  watch(signal: AbortSignal, watcher: () => void): void;
  unwatch(signal: AbortSignal, watcher: () => void): void;
}
const listeners: Way = {
  watch: (signal, watcher) => signal.addEventListener("abort", watcher, { once: true }),
  unwatch: (signal, watcher) => signal.removeEventListener("abort", watcher),
};
const watching: Way = { watch: watchAbort, unwatch: unwatchAbort };

/** ms for `repeat` times `n` watchers of one signal coming, then going in reverse. */
function inThenOut(way: Way, n: number, repeat: number): number {
  const signal = new AbortController().signal;
  const watchers = Array.from({ length: n }, () => () => {});
  const started = performance.now();
  for (let r = 0; r < repeat; r++) {
    for (const watcher of watchers) way.watch(signal, watcher);
    for (let i = watchers.length - 1; i >= 0; i--) way.unwatch(signal, watchers[i]!);
  }
  return performance.now() - started;
}

/** ms for `repeat` watchers each coming and going while `resident` others watch. */
function beside(way: Way, resident: number, repeat: number): number {
  const signal = new AbortController().signal;
  const others = Array.from({ length: resident }, () => () => {});
  for (const other of others) way.watch(signal, other);
  const started = performance.now();
  for (let r = 0; r < repeat; r++) {
    const watcher = () => {};
    way.watch(signal, watcher);
    way.unwatch(signal, watcher);
  }
  const elapsed = performance.now() - started;
  for (const other of others) way.unwatch(signal, other);
  return elapsed;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Runs `measure` both ways, alternating which goes first; prints ns a watcher and the ratio. */
function compare(label: string, watchers: number, measure: (way: Way) => number): void {
  measure(listeners); // warm up both
  measure(watching);
  const baseline: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [listeners, watching] : [watching, listeners];
    for (const way of order) (way === listeners ? baseline : ours).push(measure(way));
  }
  const ns = (ms: number) => ((ms * 1e6) / watchers).toFixed(0);
  console.log(
    `${runtime} ${label}: addEventListener ${ns(median(baseline))} ns, watchAbort ${
      ns(median(ours))
    } ns a watcher (watch + unwatch), baseline / ours ${
      (median(baseline) / median(ours)).toFixed(2)
    }, median of ${rounds} rounds`,
  );
}

for (const resident of [0, 15, 127]) {
  const repeat = 100_000;
  compare(`one beside ${resident}`, repeat, (way) => beside(way, resident, repeat));
}
for (const [n, repeat] of [[1_000, 20], [10_000, 1]] as const) {
  compare(`${n} in, then out in reverse`, n * repeat, (way) => inThenOut(way, n, repeat));
}
