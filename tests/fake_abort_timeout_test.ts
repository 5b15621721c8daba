/**
 * `FakeTime`'s `AbortSignal.timeout()` behaves like the real one at the
 * edges: it converts and refuses arguments as Deno's does (WebIDL
 * `[EnforceRange] unsigned long long`: a `TypeError` for NaN, ±Infinity,
 * negative values and values past 2^53 - 1), and a delay past a timer's
 * 2^31 - 1 ms waits that long instead of firing after 1 ms.
 */
import assert from "node:assert/strict";
import { FakeTime } from "../testing.ts";

/** What `fn` threw (or `undefined`). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error;
  }
}

Deno.test("FakeTime AbortSignal.timeout() refuses what the real one refuses, with the same error", () => {
  const refused = [
    -1,
    -0.5 - 1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    2 ** 53,
    undefined,
  ];
  const real = refused.map((ms) => thrown(() => AbortSignal.timeout(ms as number)));
  using _time = new FakeTime(0);
  refused.forEach((ms, i) => {
    const expected = real[i] as Error;
    assert.ok(
      expected instanceof TypeError,
      `the real AbortSignal.timeout(${ms}) throws a TypeError`,
    );
    const error = thrown(() => AbortSignal.timeout(ms as number));
    assert.ok(error instanceof TypeError, `AbortSignal.timeout(${ms}) under FakeTime: ${error}`);
    assert.equal(error.message, expected.message, `AbortSignal.timeout(${ms})`);
  });
});

Deno.test("FakeTime AbortSignal.timeout() converts what the real one accepts: fractions truncate, null is 0", async () => {
  using time = new FakeTime(0);
  const fraction = AbortSignal.timeout(1.9);
  const nothing = AbortSignal.timeout(null as unknown as number);
  const text = AbortSignal.timeout("5" as unknown as number);
  const largest = AbortSignal.timeout(Number.MAX_SAFE_INTEGER);
  await time.tickAsync(0);
  assert.equal(nothing.aborted, true);
  assert.equal(fraction.aborted, false);
  await time.tickAsync(1);
  assert.equal(fraction.aborted, true, "1.9 ms waits 1 ms");
  await time.tickAsync(3);
  assert.equal(text.aborted, false);
  await time.tickAsync(1);
  assert.equal(text.aborted, true);
  assert.equal(largest.aborted, false);
});

Deno.test("FakeTime AbortSignal.timeout(2 ** 31) waits 2 ** 31 ms, not 1 ms", async () => {
  using time = new FakeTime(0);
  const signal = AbortSignal.timeout(2 ** 31);
  await time.tickAsync(10);
  assert.equal(signal.aborted, false, "not after 10 ms");
  await time.tickAsync(2 ** 31 - 11);
  assert.equal(signal.aborted, false, "not 1 ms early");
  await time.tickAsync(1);
  assert.equal(signal.aborted, true);
  assert.ok(signal.reason instanceof DOMException);
  assert.equal(signal.reason.name, "TimeoutError");
});

Deno.test("FakeTime AbortSignal.timeout() of 100 days aborts once, on the deadline", async () => {
  const day = 86_400_000;
  using time = new FakeTime(0);
  const signal = AbortSignal.timeout(100 * day);
  let aborts = 0;
  signal.addEventListener("abort", () => aborts++);
  await time.tickAsync(100 * day - 1);
  assert.equal(aborts, 0);
  await time.tickAsync(1);
  assert.equal(aborts, 1);
  assert.equal(time.pending, 0, "no timer left behind");
});
