/**
 * retryDelay(): the exact wait sequences of fixed, exponential, capped and
 * jittered policies, an error's own `retryAfter`, and (fast-check) that
 * every wait stays within its bounds for any policy and attempt.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { TransientError } from "../mod.ts";
import { requestedDelay, retryDelay } from "../src/handling/retry_delay.ts";
import { resolveRetryPolicy } from "../src/handling/retry_policy.ts";

/** The waits after attempts 1..n fail, with a fixed random draw. */
function waits(policy: Parameters<typeof retryDelay>[0], n: number, random = 0): number[] {
  return Array.from({ length: n }, (_, i) => retryDelay(policy, i + 1, random));
}

Deno.test("retryDelay() waits delay every time with fixed backoff", () => {
  const policy = resolveRetryPolicy({ attempts: 5, backoff: "fixed", delay: 250 });
  assert.deepEqual(waits(policy, 4), [250, 250, 250, 250]);
});

Deno.test("retryDelay() doubles the wait after each failure with exponential backoff", () => {
  const policy = resolveRetryPolicy({ attempts: 6, delay: 100, maxDelay: 100_000 });
  assert.deepEqual(waits(policy, 5), [100, 200, 400, 800, 1600]);
});

Deno.test("retryDelay() caps exponential waits at maxDelay", () => {
  const policy = resolveRetryPolicy({ attempts: 8, delay: 100, maxDelay: 500 });
  assert.deepEqual(waits(policy, 6), [100, 200, 400, 500, 500, 500]);
});

Deno.test("retryDelay() takes jitter × random off each wait", () => {
  const policy = resolveRetryPolicy({ attempts: 4, delay: 1_000, jitter: 0.5 });
  assert.deepEqual(waits(policy, 3, 0), [1_000, 2_000, 4_000], "a draw of 0 keeps the wait");
  assert.deepEqual(waits(policy, 3, 0.5), [750, 1_500, 3_000], "a draw of 0.5 takes a quarter");
  assert.deepEqual(waits(policy, 3, 0.999_999), [500, 1_000, 2_000], "never below w·(1−jitter)");
  const full = resolveRetryPolicy({ attempts: 2, backoff: "fixed", delay: 800, jitter: 1 });
  assert.equal(retryDelay(full, 1, 0.25), 600);
});

Deno.test("retryDelay() lets an error's retryAfter win, without jitter and capped by maxDelay", () => {
  const policy = resolveRetryPolicy({ attempts: 5, delay: 100, maxDelay: 2_000, jitter: 1 });
  assert.equal(retryDelay(policy, 1, 0.9, 1_500), 1_500);
  assert.equal(retryDelay(policy, 3, 0.9, 0), 0);
  assert.equal(retryDelay(policy, 1, 0.9, 60_000), 2_000);
});

Deno.test("retryDelay() keeps a zero delay at zero however many attempts ran", () => {
  const policy = resolveRetryPolicy({ attempts: 5_000, delay: 0, maxDelay: 0 });
  assert.equal(retryDelay(policy, 4_000, 0.5), 0);
});

Deno.test("requestedDelay() reads a finite retryAfter >= 0 and ignores everything else", () => {
  assert.equal(requestedDelay(new TransientError("429", { retryAfter: 3_000 })), 3_000);
  assert.equal(requestedDelay({ retryAfter: 0 }), 0);
  for (const value of [-1, Number.NaN, Infinity, "100", null]) {
    assert.equal(requestedDelay({ retryAfter: value }), undefined, String(value));
  }
  assert.equal(requestedDelay(new TransientError("503")), undefined);
  assert.equal(requestedDelay("text"), undefined);
  assert.equal(requestedDelay(undefined), undefined);
});

Deno.test("retryDelay() stays within [w·(1−jitter), w] and never above maxDelay, for any policy", () => {
  const policies = fc.record({
    attempts: fc.integer({ min: 1, max: 10_000 }),
    backoff: fc.constantFrom("fixed" as const, "exponential" as const),
    delay: fc.double({ min: 0, max: 1e7, noNaN: true }),
    extra: fc.double({ min: 0, max: 1e7, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  fc.assert(
    fc.property(
      policies,
      fc.integer({ min: 1, max: 5_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: undefined }),
      ({ extra, ...options }, attempt, random, requested) => {
        const policy = resolveRetryPolicy({ ...options, maxDelay: options.delay + extra });
        const wait = retryDelay(policy, attempt, random, requested);
        assert.ok(Number.isInteger(wait), `${wait} is whole ms`);
        assert.ok(wait >= 0 && wait <= policy.maxDelay, `${wait} within [0, maxDelay]`);
        if (requested !== undefined) {
          assert.equal(wait, Math.floor(Math.min(requested, policy.maxDelay)));
          return;
        }
        const grown = policy.backoff === "fixed" || policy.delay === 0
          ? policy.delay
          : policy.delay * 2 ** (attempt - 1);
        const w = Math.min(grown, policy.maxDelay);
        assert.ok(wait <= w, `${wait} <= ${w}`);
        assert.ok(wait >= Math.floor(w * (1 - policy.jitter)), `${wait} >= ${w}·(1−jitter)`);
      },
    ),
    { numRuns: 2_000 },
  );
});
