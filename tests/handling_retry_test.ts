/**
 * retry(): the middleware's decision for each failed attempt — `retry`
 * with the next wait, or `dead` — by attempt, error type, `retryable()`
 * and `retryAfter`; it always rethrows the failure.
 */
import assert from "node:assert/strict";
import { NonRetryableError, ResponseError, type Settlement, TransientError } from "../mod.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { retry } from "../src/handling/retry.ts";
import { resolveRetryPolicy, type RetryOptions } from "../src/handling/retry_policy.ts";

/** Runs one attempt that fails with `error` and returns the settlement it got. */
async function settle(
  options: RetryOptions,
  attempt: number,
  error: unknown,
  inner: Settlement | undefined = undefined,
): Promise<Settlement | undefined> {
  const context = { attempt, settlement: inner } as HandlerContext;
  const pipeline = compose([retry(resolveRetryPolicy(options), () => 0.5)], () => {
    throw error;
  });
  await assert.rejects(pipeline({ name: "job.run" }, context), (thrown) => thrown === error);
  return context.settlement;
}

const POLICY: RetryOptions = { attempts: 3, delay: 100, jitter: 0.5 };

Deno.test("retry() settles retry with the policy's next wait while attempts remain", async () => {
  const error = new Error("flaky");
  assert.deepEqual(await settle(POLICY, 1, error), { type: "retry", delay: 75 });
  assert.deepEqual(await settle(POLICY, 2, error), { type: "retry", delay: 150 });
});

Deno.test("retry() settles dead once the attempt reached attempts", async () => {
  assert.deepEqual(await settle(POLICY, 3, new Error("still flaky")), {
    type: "dead",
    reason: "attempt 3 of 3 failed: Error: still flaky",
  });
  assert.deepEqual(await settle({ attempts: 1 }, 1, new Error("once")), {
    type: "dead",
    reason: "attempt 1 of 1 failed: Error: once",
  });
  assert.equal((await settle(POLICY, 7, new Error("x")))?.type, "dead", "past attempts too");
});

Deno.test("retry() never retries a NonRetryableError", async () => {
  const retryable = () => true;
  assert.deepEqual(
    await settle({ ...POLICY, retryable }, 1, new NonRetryableError("no such job", { code: "x" })),
    { type: "dead", reason: "not retryable: NonRetryableError: no such job" },
  );
});

Deno.test("retry() asks retryable() and counts a throwing one as no", async () => {
  const retryable = (error: unknown) => !(error instanceof ResponseError);
  const refused = new ResponseError({ code: "quota_exceeded", message: "no quota" });
  assert.deepEqual(await settle({ ...POLICY, retryable }, 1, refused), {
    type: "dead",
    reason: "not retryable: ResponseError: no quota",
  });
  assert.equal((await settle({ ...POLICY, retryable }, 1, new Error("x")))?.type, "retry");
  const broken = () => {
    throw new TypeError("classifier bug");
  };
  assert.deepEqual(await settle({ ...POLICY, retryable: broken }, 1, new Error("x")), {
    type: "dead",
    reason: "not retryable: Error: x (retryable() threw TypeError: classifier bug)",
  });
});

Deno.test("retry() waits what the error's retryAfter asks for", async () => {
  const limited = new TransientError("429", { status: 429, retryAfter: 2_000 });
  assert.deepEqual(await settle(POLICY, 1, limited), { type: "retry", delay: 2_000 });
  assert.deepEqual(await settle(POLICY, 1, { retryAfter: 40 }), { type: "retry", delay: 40 });
});

Deno.test("retry() leaves a settlement an inner middleware set, and a success alone", async () => {
  const inner: Settlement = { type: "dead", reason: "decided inside" };
  assert.equal(await settle(POLICY, 1, new Error("x"), inner), inner);
  const context = { attempt: 1, settlement: undefined } as HandlerContext;
  await compose([retry(resolveRetryPolicy(POLICY))], () => {})({ name: "job.run" }, context);
  assert.equal(context.settlement, undefined);
});
