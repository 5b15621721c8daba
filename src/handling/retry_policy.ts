/**
 * The handler retry policy's options, their defaults and their validation:
 * checked once, up front, so a bad policy fails when the worker (or the
 * registration, or the host) is set up, not at the first failing event.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** How the wait between attempts grows. */
export type RetryBackoff = "fixed" | "exponential";

/**
 * The handler retry policy (`retry` on `runWorker`, a registration or a
 * `Host`). A failed attempt is retried after a wait until `attempts` ran,
 * unless the error is a `NonRetryableError` or `retryable(error)` says no.
 * An error with a numeric `retryAfter` (ms; a `TransientError` from a 429
 * has one) sets its own next wait, capped by `maxDelay`.
 *
 * @example Three attempts, waiting about 1 s and then about 2 s
 * ```ts
 * import { ResponseError, type RetryOptions } from "@bus/integration";
 *
 * const retry: RetryOptions = {
 *   attempts: 3,
 *   backoff: "exponential",
 *   delay: 1_000,
 *   maxDelay: 10_000,
 *   jitter: 0.2,
 *   // A deliberate error answer is not worth another attempt.
 *   retryable: (error) => !(error instanceof ResponseError),
 * };
 * ```
 */
export interface RetryOptions {
  /** Attempts in all, the first included: `1` never retries. An integer >= 1. */
  attempts: number;
  /**
   * `fixed` waits `delay` every time; `exponential` waits `delay` after the
   * first failure and doubles it after each further one, up to `maxDelay`.
   *
   * @default {"exponential"}
   */
  backoff?: RetryBackoff | undefined;
  /** The wait after the first failed attempt, in ms (>= 0). @default {1000} */
  delay?: number | undefined;
  /**
   * The longest wait, in ms, whatever the backoff or an error's
   * `retryAfter` asks for; at least `delay`.
   *
   * @default {the larger of 30000 and delay}
   */
  maxDelay?: number | undefined;
  /**
   * The share of each wait drawn at random, from 0 (exact waits) to 1: a
   * wait `w` becomes a uniform draw from `[w·(1 − jitter), w]`, so workers
   * that failed together do not retry together.
   *
   * @default {0}
   */
  jitter?: number | undefined;
  /**
   * Whether a failure may be retried at all; `false` dead-letters the event
   * at once. Never consulted for a `NonRetryableError`. Classify by type or
   * by a property such as `code`, not by message text.
   *
   * @default {every error is retryable}
   */
  retryable?: ((error: unknown) => boolean) | undefined;
}

/** A validated {@linkcode RetryOptions} with every default filled in. */
export interface RetryPolicy {
  /** Attempts in all. */
  readonly attempts: number;
  /** How the wait grows. */
  readonly backoff: RetryBackoff;
  /** The first wait, in ms. */
  readonly delay: number;
  /** The longest wait, in ms. */
  readonly maxDelay: number;
  /** The random share of each wait, 0 to 1. */
  readonly jitter: number;
  /** The caller's classification, if any. */
  readonly retryable: ((error: unknown) => boolean) | undefined;
}

/** The first wait of a policy that sets none, in ms. */
export const DEFAULT_RETRY_DELAY = 1_000;
/** The longest wait of a policy that sets none (and no larger `delay`), in ms. */
export const DEFAULT_RETRY_MAX_DELAY = 30_000;

/** The policy of a worker without `retry`: one attempt, never retried. */
export const NO_RETRY: RetryPolicy = Object.freeze({
  attempts: 1,
  backoff: "exponential",
  delay: DEFAULT_RETRY_DELAY,
  maxDelay: DEFAULT_RETRY_MAX_DELAY,
  jitter: 0,
  retryable: undefined,
});

const BACKOFFS: readonly unknown[] = ["fixed", "exponential"];

/**
 * Checks `options` and fills in the defaults; `undefined` is
 * {@linkcode NO_RETRY}.
 *
 * @param options The caller's policy.
 * @param where Starts each message, e.g. `Cannot run worker`.
 * @throws {TypeError} When `retry` is not an object, a field has the wrong
 * type, `backoff` is neither `fixed` nor `exponential`, or `retryable` is
 * not a function.
 * @throws {RangeError} When `attempts` is not an integer >= 1, a delay is
 * negative or not finite, `maxDelay` is below `delay`, or `jitter` is
 * outside [0, 1].
 */
export function resolveRetryPolicy(
  options: RetryOptions | undefined,
  where = "Cannot use retry",
): RetryPolicy {
  if (options === undefined) return NO_RETRY;
  const fail = (Kind: typeof TypeError, field: string, value: unknown, expected: string) =>
    new Kind(`${where}: retry${field} is ${shown(value)}, expected ${expected}`);
  if (typeof options !== "object" || options === null) {
    throw fail(TypeError, "", options, "an object such as { attempts: 3 }");
  }
  const { attempts, backoff = "exponential", delay = DEFAULT_RETRY_DELAY, jitter = 0 } = options;
  const number = (field: string, value: unknown) => {
    if (typeof value !== "number") throw fail(TypeError, field, value, "a number");
  };
  number(".attempts", attempts);
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw fail(RangeError, ".attempts", attempts, "an integer >= 1");
  }
  if (!BACKOFFS.includes(backoff)) {
    throw fail(TypeError, ".backoff", backoff, `"fixed" or "exponential"`);
  }
  number(".delay", delay);
  if (!(Number.isFinite(delay) && delay >= 0)) {
    throw fail(RangeError, ".delay", delay, "a finite number of ms >= 0");
  }
  const maxDelay = options.maxDelay ?? Math.max(DEFAULT_RETRY_MAX_DELAY, delay);
  number(".maxDelay", maxDelay);
  if (!(Number.isFinite(maxDelay) && maxDelay >= delay)) {
    throw fail(RangeError, ".maxDelay", maxDelay, `a finite number of ms >= delay (${delay})`);
  }
  number(".jitter", jitter);
  if (!(jitter >= 0 && jitter <= 1)) {
    throw fail(RangeError, ".jitter", jitter, "a number in [0, 1]");
  }
  if (options.retryable !== undefined && typeof options.retryable !== "function") {
    throw fail(TypeError, ".retryable", options.retryable, "a function");
  }
  return Object.freeze({
    attempts,
    backoff,
    delay,
    maxDelay,
    jitter,
    retryable: options.retryable,
  });
}

/** A value as a message shows it: JSON where it has one, else its type. */
function shown(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (typeof value === "number" || value === undefined) return String(value);
  return JSON.stringify(value) ?? typeof value;
}
