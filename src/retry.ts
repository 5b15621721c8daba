/**
 * Reconnect timing: a bounded exponential backoff with full jitter and an
 * abortable delay. Timers are plain `setTimeout`, so fake clocks drive them.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Backoff bounds of a reconnecting listener. */
export interface RetryOptions {
  /** First wait, and the lower bound of every wait, in ms. @default {1000} */
  min?: number;
  /** Upper bound of every wait, in ms. @default {30000} */
  max?: number;
  /**
   * A connection that stayed open at least this long resets the backoff to
   * `min`.
   * @default {10000}
   */
  healthyAfter?: number;
}

/** The defaults of {@linkcode RetryOptions}, matching the Go runtime. */
export const DEFAULT_RETRY = { min: 1000, max: 30_000, healthyAfter: 10_000 } as const;

const MULTIPLIER = 2;

/**
 * The wait sequence between reconnects. Attempt `n` (from 0) draws uniformly
 * from `[min, min(max, min·2ⁿ)]`: the first wait is exactly `min`, the band
 * doubles, and nothing ever waits below `min` or above `max`, except that a
 * server's `Retry-After` (or SSE `retry:`) longer than the draw is honoured.
 *
 * @example
 * ```ts
 * import { Backoff } from "@bus/integration";
 * const backoff = new Backoff({ min: 100, max: 1000 }, () => 0.5);
 * backoff.next(); // 100
 * backoff.next(); // 150
 * backoff.next(); // 250
 * ```
 */
export class Backoff {
  /** Lower bound of every wait, in ms. */
  readonly min: number;
  /** Upper bound of every wait, in ms. */
  readonly max: number;
  /** How long a connection must stay open to reset the backoff, in ms. */
  readonly healthyAfter: number;
  readonly #random: () => number;
  #attempt = 0;

  /**
   * Creates the schedule.
   *
   * @param options bounds; `min` must be positive and not above `max`.
   * @param random source in `[0, 1)`, injectable for tests.
   * @throws {RangeError} when the bounds are not usable.
   */
  constructor(options: RetryOptions = {}, random: () => number = Math.random) {
    this.min = options.min ?? DEFAULT_RETRY.min;
    this.max = options.max ?? Math.max(DEFAULT_RETRY.max, this.min);
    this.healthyAfter = options.healthyAfter ?? DEFAULT_RETRY.healthyAfter;
    if (!(this.min > 0) || !Number.isFinite(this.min)) {
      throw new RangeError(`Cannot use retry min: current value is ${this.min}, expected > 0`);
    }
    if (!(this.max >= this.min) || !Number.isFinite(this.max)) {
      throw new RangeError(
        `Cannot use retry max: current value is ${this.max}, expected >= min (${this.min})`,
      );
    }
    if (!(this.healthyAfter >= 0)) {
      throw new RangeError(
        `Cannot use retry healthyAfter: current value is ${this.healthyAfter}, expected >= 0`,
      );
    }
    this.#random = random;
  }

  /** How many waits were drawn since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * Draws the next wait in ms. `floor` is a server-requested minimum
   * (`Retry-After`, SSE `retry:`) that wins when it is longer.
   */
  next(floor = 0): number {
    const cap = Math.min(this.max, this.min * MULTIPLIER ** this.#attempt);
    this.#attempt++;
    const drawn = Math.round(this.min + this.#random() * (cap - this.min));
    return Math.max(drawn, floor);
  }

  /** Starts over from `min`, after a connection that proved healthy. */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal`
 * aborts (at once if it already has). The timer and the listener are both
 * removed when it settles.
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
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
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
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
