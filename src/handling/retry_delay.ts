/**
 * The wait before the next attempt at a failed event: a pure function of the
 * policy, the attempt that failed, one random draw and the error's own
 * request, so fake-time and property tests can pin it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { RetryPolicy } from "./retry_policy.ts";

/** What of a policy the wait depends on. */
export type RetryDelayPolicy = Pick<RetryPolicy, "backoff" | "delay" | "maxDelay" | "jitter">;

/**
 * The wait in whole ms after attempt `attempt` (from 1) failed.
 *
 * - `requested` (an error's `retryAfter`) wins over the backoff, without
 *   jitter, and is capped by `maxDelay`: the cap bounds how long a slot (or,
 *   with JetStream, a message) is held back, whoever asks.
 * - Otherwise `fixed` waits `delay`; `exponential` waits `delay · 2^(attempt−1)`,
 *   capped by `maxDelay`; then jitter takes a random share off:
 *   `w · (1 − jitter · random)`, so the wait lies in `[w·(1 − jitter), w]`.
 *
 * @param policy The validated policy.
 * @param attempt The attempt that just failed, from 1.
 * @param random A draw from [0, 1), e.g. `Math.random()`.
 * @param requested The error's own wait in ms, when it asked for one.
 */
export function retryDelay(
  policy: RetryDelayPolicy,
  attempt: number,
  random: number,
  requested?: number,
): number {
  if (requested !== undefined) return Math.floor(Math.min(requested, policy.maxDelay));
  // `0 · Infinity` is NaN: a zero delay stays zero however many attempts ran.
  const grown = policy.backoff === "fixed" || policy.delay === 0
    ? policy.delay
    : policy.delay * 2 ** (attempt - 1);
  const capped = Math.min(grown, policy.maxDelay);
  return Math.floor(capped * (1 - policy.jitter * random));
}

/**
 * The wait a thrown value asks for: its `retryAfter` property when that is
 * a finite number of ms >= 0 (as `TransientError` carries a server's
 * `Retry-After`), else `undefined`.
 */
export function requestedDelay(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { retryAfter } = error as { retryAfter?: unknown };
  return typeof retryAfter === "number" && Number.isFinite(retryAfter) && retryAfter >= 0
    ? retryAfter
    : undefined;
}
