/**
 * Watching an `AbortSignal` for many parties with one listener on it.
 *
 * Why: `addEventListener` looks through every listener of the type for a
 * duplicate before it adds one, and `removeEventListener` looks for the one
 * to remove, so N watchers of one long-lived signal cost O(N²) to come and
 * go. A host's stop signal is watched by every registration's listener and
 * stream, and a worker's by every publish and wait in flight: 10,000
 * watchers of one signal took 75–215 ms to add and 75–310 ms to remove in
 * reverse on Deno 2, Node 26 and Bun 1.4. Here the signal holds one
 * listener and its watchers are a `Set`, so watching and unwatching cost
 * the same at any count: about 60 ns beside other watchers, where a
 * listener beside 15 others costs 250–300 ns and beside 127 up to 1.4 µs.
 * A watcher alone on its signal pays about 0.2 µs more than a listener:
 * the set is made and dropped with it. Keeping an emptied signal's set and
 * listener would spare that on a signal used again, but a signal made per
 * operation would then carry both until collected, which measured up to
 * twice as slow again (`bench/abort_watch.ts`).
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Who watches a signal: a function, or an object whose `handleEvent()` is
 * called (a long-lived object can watch without a closure of its own).
 */
export type AbortWatcher = (() => void) | { handleEvent(): void };

/** Each watched signal's watchers, in the order they started watching. */
const watchersOf = new WeakMap<AbortSignal, Set<AbortWatcher>>();

/**
 * Calls `watcher` once when `signal` aborts, as
 * `signal.addEventListener("abort", watcher, { once: true })` would: a
 * watcher watching already is not added again, and nothing is watched on a
 * signal that aborted already (check `signal.aborted` first). No signal
 * (`undefined`, an optional one not given) is nothing to watch.
 */
export function watchAbort(signal: AbortSignal | undefined, watcher: AbortWatcher): void {
  if (signal === undefined || signal.aborted) return;
  let watchers = watchersOf.get(signal);
  if (watchers === undefined) {
    watchers = new Set();
    watchersOf.set(signal, watchers);
    signal.addEventListener("abort", notifyWatchers, { once: true });
  }
  watchers.add(watcher);
}

/**
 * Stops `watcher` watching `signal`; one that is not watching is ignored.
 * During the abort, a watcher not called yet is then not called, as with
 * `removeEventListener`. The last watcher to go takes the signal's
 * listener with it, so an unwatched signal holds nothing of this module.
 */
export function unwatchAbort(signal: AbortSignal | undefined, watcher: AbortWatcher): void {
  if (signal === undefined) return;
  const watchers = watchersOf.get(signal);
  if (watchers === undefined || !watchers.delete(watcher) || watchers.size > 0) return;
  watchersOf.delete(signal);
  signal.removeEventListener("abort", notifyWatchers);
}

/**
 * The one listener of every watched signal: calls its watchers in order. A
 * watcher that throws does not keep the others from being called; its
 * error is thrown again in a microtask, where the runtime reports it as it
 * reports an abort listener's.
 */
function notifyWatchers(event: Event): void {
  const signal = event.target as AbortSignal;
  const watchers = watchersOf.get(signal);
  if (watchers === undefined) return;
  // Iterated live: a watcher unwatched by an earlier one's call is skipped.
  for (const watcher of watchers) {
    try {
      if (typeof watcher === "function") watcher();
      else watcher.handleEvent();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  watchersOf.delete(signal);
}
