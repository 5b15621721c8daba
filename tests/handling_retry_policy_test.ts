/**
 * resolveRetryPolicy(): defaults, and every bad option is a TypeError or
 * RangeError that names the option; runWorker(), defineWorker() and Host
 * refuse a bad policy before anything connects.
 */
import assert from "node:assert/strict";
import { defineWorker, Host, runWorker } from "../mod.ts";
import {
  DEFAULT_RETRY_DELAY,
  DEFAULT_RETRY_MAX_DELAY,
  NO_RETRY,
  resolveRetryPolicy,
  type RetryOptions,
} from "../src/handling/retry_policy.ts";
import { MemoryTransport } from "./_memory_transport.ts";

/** Bad policies, the error class and what the message must say. */
const BAD: Array<[unknown, typeof TypeError | typeof RangeError, RegExp]> = [
  [{ attempts: 0 }, RangeError, /retry\.attempts is 0, expected an integer >= 1/],
  [{ attempts: 1.5 }, RangeError, /retry\.attempts is 1\.5/],
  [{ attempts: Infinity }, RangeError, /retry\.attempts is Infinity/],
  [{}, TypeError, /retry\.attempts is undefined, expected a number/],
  [{ attempts: "3" }, TypeError, /retry\.attempts is "3", expected a number/],
  [
    { attempts: 3, delay: -1 },
    RangeError,
    /retry\.delay is -1, expected a finite number of ms >= 0/,
  ],
  [{ attempts: 3, delay: Number.NaN }, RangeError, /retry\.delay is NaN/],
  [{ attempts: 3, delay: "1s" }, TypeError, /retry\.delay is "1s", expected a number/],
  [
    { attempts: 3, delay: 500, maxDelay: 100 },
    RangeError,
    /retry\.maxDelay is 100, expected a finite number of ms >= delay \(500\)/,
  ],
  [{ attempts: 3, maxDelay: Infinity }, RangeError, /retry\.maxDelay is Infinity/],
  [
    { attempts: 3, jitter: 1.5 },
    RangeError,
    /retry\.jitter is 1\.5, expected a number in \[0, 1\]/,
  ],
  [{ attempts: 3, jitter: -0.1 }, RangeError, /retry\.jitter is -0\.1/],
  [
    { attempts: 3, backoff: "linear" },
    TypeError,
    /retry\.backoff is "linear", expected "fixed" or "exponential"/,
  ],
  [{ attempts: 3, retryable: true }, TypeError, /retry\.retryable is true, expected a function/],
  [null, TypeError, /retry is null, expected an object/],
  [3, TypeError, /retry is 3, expected an object/],
];

Deno.test("resolveRetryPolicy() fills in the defaults", () => {
  assert.equal(resolveRetryPolicy(undefined), NO_RETRY);
  assert.equal(NO_RETRY.attempts, 1);
  const retryable = () => true;
  assert.deepEqual(resolveRetryPolicy({ attempts: 3, retryable }), {
    attempts: 3,
    backoff: "exponential",
    delay: DEFAULT_RETRY_DELAY,
    maxDelay: DEFAULT_RETRY_MAX_DELAY,
    jitter: 0,
    retryable,
  });
  assert.equal(
    resolveRetryPolicy({ attempts: 2, delay: 60_000 }).maxDelay,
    60_000,
    "a delay above the default cap raises the default cap",
  );
});

Deno.test("resolveRetryPolicy() throws a TypeError or RangeError naming the option", () => {
  for (const [options, Kind, message] of BAD) {
    assert.throws(
      () => resolveRetryPolicy(options as RetryOptions, "Cannot run worker"),
      (error: Error) =>
        error.constructor === Kind && error.message.startsWith("Cannot run worker: ") &&
        message.test(error.message),
      JSON.stringify(options),
    );
  }
});

Deno.test("runWorker() rejects a bad retry policy before it opens a stream", async () => {
  const transport = new MemoryTransport();
  await assert.rejects(
    runWorker({ transport, names: ["a.b"], retry: { attempts: 0 }, handler: () => {} }),
    (error) =>
      error instanceof RangeError && /Cannot run worker: retry\.attempts/.test(error.message),
  );
  await assert.rejects(
    runWorker({
      transport,
      names: ["a.b"],
      retry: { attempts: 2, backoff: "linear" as "fixed" },
      handler: () => {},
    }),
    (error) => error instanceof TypeError && /retry\.backoff/.test(error.message),
  );
  assert.equal(transport.opens.length, 0);
});

Deno.test("defineWorker() and Host refuse a bad retry policy, naming where it is", () => {
  assert.throws(
    () =>
      defineWorker({
        name: "echo",
        names: ["a.b"],
        retry: { attempts: 2, jitter: 2 },
        handler() {},
      }),
    (error) =>
      error instanceof RangeError &&
      error.message ===
        'Cannot use registration "echo": retry.jitter is 2, expected a number in [0, 1]',
  );
  const registration = defineWorker({ name: "echo", names: ["a.b"], handler() {} });
  assert.throws(
    () =>
      new Host({
        transport: new MemoryTransport(),
        registrations: [registration],
        retry: { attempts: 3, delay: -5 },
      }),
    (error) =>
      error instanceof RangeError && /^Cannot create host: retry\.delay is -5/.test(error.message),
  );
});
