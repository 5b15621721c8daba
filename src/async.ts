/**
 * Small async building blocks every layer shares: an abortable delay, an
 * abortable place in a line of waiters, a bounded wait, a drain deadline,
 * and linking a caller's long-lived signal to a short-lived controller
 * without `AbortSignal.any()` (which leaks one entry per call on Node and
 * Deno). Timers are plain `setTimeout`, so fake clocks drive them.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { unwatchAbort, watchAbort } from "./abort_watch.ts";

/**
 * One promise that is already resolved, shared by every call that finished
 * before it returned (settling over HTTP, a queue item that started at
 * once, a synchronous handler): no promise per call, and a caller that gets
 * this one knows by its identity that there is nothing to wait for.
 */
export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The longest wait a timer takes as given: 2^31 − 1 ms (about 24.8 days).
 * Timers store their delay as a signed 32-bit integer (WebIDL, Node, Bun,
 * Deno alike), and a longer one fires after 1 ms instead: a server's
 * `Retry-After` of 30 days would become a hot reconnect loop.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * Whether `value` is a bound an option may give a timer as it is: a whole
 * number of ms from 1 to {@linkcode MAX_TIMER_DELAY}.
 */
export function isTimerBound(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 &&
    value <= MAX_TIMER_DELAY;
}

/**
 * `ms` as a timer can wait it: at most {@linkcode MAX_TIMER_DELAY} (also
 * for `Infinity`), and 0 for a negative wait or `NaN`. Every library timer
 * goes through it, so no wait a server or an option names can overflow.
 */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms < MAX_TIMER_DELAY ? ms : MAX_TIMER_DELAY;
}

/**
 * Aborts `controller` with `signal.reason` when `signal` aborts (at once if it
 * already has). Returns the function that removes the link; call it when the
 * short-lived work settles so the long-lived signal keeps no listener.
 */
export function linkAbort(
  signal: AbortSignal | undefined,
  controller: AbortController,
): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }
  const onAbort = () => controller.abort(signal.reason);
  watchAbort(signal, onAbort);
  return () => unwatchAbort(signal, onAbort);
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal`
 * aborts (at once if it already has). The timer and the listener are both
 * removed when it settles. A wait above {@linkcode MAX_TIMER_DELAY} waits
 * that long, where a plain `setTimeout` would fire at once.
 *
 * @example
 * ```ts
 * import { delay } from "@bus/integration";
 * await delay(10);
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      unwatchAbort(signal, onAbort);
      resolve();
    }, timerDelay(ms));
    watchAbort(signal, onAbort);
  });
}

/**
 * Waits in `line` until woken, or until `signal` aborts (at once if it
 * already has; then nothing is added). Pushes one wake function onto
 * `line`: whoever frees what the line waits for shifts it off and calls it,
 * which resolves the promise. An abort first takes it out of the line and
 * rejects with `signal.reason`, so an abandoned wait is never woken.
 */
export function waitInLine(line: Array<() => void>, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const wake = () => {
      unwatchAbort(signal, onAbort);
      resolve();
    };
    const onAbort = () => {
      const index = line.indexOf(wake);
      if (index >= 0) line.splice(index, 1);
      reject(signal?.reason);
    };
    line.push(wake);
    watchAbort(signal, onAbort);
  });
}

/**
 * Resolves `true` once `work` settles (fulfilled or rejected), or `false`
 * when `ms` pass first. The timer is cleared either way, and a rejection of
 * `work` is handled here, so an abandoned `work` cannot surface later.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timerDelay(ms));
  });
  try {
    return await Promise.race([work.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with `work`'s value, or with `onTimeout()` when `timeout` ms
 * passed after `signal` aborted and `work` is still going. The timer and the
 * listener are removed when `work` settles first.
 */
export function withDrainDeadline<T>(
  work: Promise<T>,
  signal: AbortSignal,
  timeout: number,
  onTimeout: () => T,
): Promise<T> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      timer = setTimeout(() => resolve(onTimeout()), timerDelay(timeout));
    };
    if (signal.aborted) onAbort();
    else watchAbort(signal, onAbort);
    work.then((value) => {
      clearTimeout(timer);
      unwatchAbort(signal, onAbort);
      resolve(value);
    });
  });
}

/**
 * `action` wrapped to run at most once: for giving back a counted place
 * (a stream under a client's limit, a consumer of its own), whose owner
 * may give it back from more than one path.
 */
export function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
