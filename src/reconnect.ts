/**
 * The listener's reconnect backoff: a bounded exponential schedule with full
 * jitter. (The handler retry policy is a different thing, in `handling/`.)
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Backoff bounds of a reconnecting listener. */
export interface ReconnectOptions {
  /** First wait, and the lower bound of every wait, in ms. @default {1000} */
  min?: number;
  /** Upper bound of every wait, in ms. @default {30000} */
  max?: number;
  /**
   * A connection that stayed open at least this long is healthy and resets
   * the backoff, even if it delivered nothing. (One that delivered an event,
   * or ended cleanly after the server's own `retry:`, is healthy at once.)
   * @default {10000}
   */
  healthyAfter?: number;
}

/** The defaults of {@linkcode ReconnectOptions}, matching the Go runtime. */
export const DEFAULT_RECONNECT = { min: 1000, max: 30_000, healthyAfter: 10_000 } as const;

/**
 * Throws what `new Backoff(options)` would throw, keeping nothing: a
 * listener checks its options when it starts and makes its `Backoff` at
 * its first failure, so a connected listener holds none.
 *
 * @throws {RangeError} when the bounds are not usable.
 */
export function assertReconnectOptions(options: ReconnectOptions | undefined): void {
  const min = options?.min ?? DEFAULT_RECONNECT.min;
  assertBounds(
    min,
    options?.max ?? Math.max(DEFAULT_RECONNECT.max, min),
    options?.healthyAfter ?? DEFAULT_RECONNECT.healthyAfter,
  );
}

function assertBounds(min: number, max: number, healthyAfter: number): void {
  if (!(min > 0) || !Number.isFinite(min)) {
    throw new RangeError(`Cannot use reconnect min: current value is ${min}, expected > 0`);
  }
  if (!(max >= min) || !Number.isFinite(max)) {
    throw new RangeError(
      `Cannot use reconnect max: current value is ${max}, expected >= min (${min})`,
    );
  }
  if (!(healthyAfter >= 0)) {
    throw new RangeError(
      `Cannot use reconnect healthyAfter: current value is ${healthyAfter}, expected >= 0`,
    );
  }
}

const MULTIPLIER = 2;

/**
 * The wait sequence between reconnects. Attempt `n` (from 0) draws uniformly
 * from `[min, min(max, min·2ⁿ)]`: the first wait is exactly `min`, the band
 * doubles, and nothing ever waits below `min` or above `max`, except that a
 * server's `Retry-After` (or SSE `retry:`) longer than the draw is honoured.
 * After {@linkcode Backoff.reset} (a healthy connection) the bands start one
 * step up, at `[min, min(max, 2·min)]`: `min` with jitter, so that listeners
 * a server cut at the same moment do not all come back at the same moment.
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
  // Added to the attempt's exponent: 1 once a healthy connection reset the
  // schedule, so that the wait after it is jittered.
  #step = 0;

  /**
   * Creates the schedule.
   *
   * @param options bounds; `min` must be positive and not above `max`.
   * @param random source in `[0, 1)`, injectable for tests (`Math.random` by default).
   * @throws {RangeError} when the bounds are not usable.
   */
  constructor(options?: ReconnectOptions, random?: () => number) {
    this.min = options?.min ?? DEFAULT_RECONNECT.min;
    this.max = options?.max ?? Math.max(DEFAULT_RECONNECT.max, this.min);
    this.healthyAfter = options?.healthyAfter ?? DEFAULT_RECONNECT.healthyAfter;
    assertBounds(this.min, this.max, this.healthyAfter);
    this.#random = random ?? Math.random;
  }

  /** How many waits were drawn since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * Draws the next wait in ms. `floor` is a server-requested minimum
   * (`Retry-After`, SSE `retry:`) that wins when it is longer.
   */
  next(floor?: number): number {
    const cap = Math.min(this.max, this.min * MULTIPLIER ** (this.#attempt + this.#step));
    this.#attempt++;
    const drawn = Math.round(this.min + this.#random() * (cap - this.min));
    return Math.max(drawn, floor ?? 0);
  }

  /**
   * Starts over after a connection that proved healthy: the next wait is
   * drawn from `[min, min(max, 2·min)]`, and the bands double from there.
   */
  reset(): void {
    this.#attempt = 0;
    this.#step = 1;
  }
}
