import assert from "node:assert/strict";
import { Backoff } from "../mod.ts";
import { assertReconnectOptions } from "../src/reconnect.ts";
import { prng } from "../src/testing/prng.ts";

/** Returns the given values in turn, as a stand-in for `Math.random`. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

Deno.test("Backoff.next() starts at min, doubles its band and caps it at max", () => {
  // Band of attempt n: [100, min(1000, 100·2ⁿ)]; random 1 takes the band's top.
  const top = new Backoff({ min: 100, max: 1000 }, () => 1);
  assert.deepEqual(
    Array.from({ length: 7 }, () => top.next()),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  // Random 0 always takes the bottom: never below min.
  const bottom = new Backoff({ min: 100, max: 1000 }, () => 0);
  assert.deepEqual(Array.from({ length: 5 }, () => bottom.next()), [100, 100, 100, 100, 100]);
});

Deno.test("Backoff.next() draws the exact jittered sequence of a seeded source", () => {
  const backoff = new Backoff({ min: 100, max: 1000 }, sequence(0.5, 0.25, 0.9, 0.1, 0.75));
  // 100 + r·(cap − 100) with caps 100, 200, 400, 800, 1000.
  assert.deepEqual(
    Array.from({ length: 5 }, () => backoff.next()),
    [100, 125, 370, 170, 775],
  );
  assert.equal(backoff.attempt, 5);
});

Deno.test("Backoff.next() stays within [min, max] for any random draw", () => {
  const random = prng(42);
  const backoff = new Backoff({ min: 250, max: 4000 }, random);
  for (let i = 0; i < 1000; i++) {
    const wait = backoff.next();
    assert.ok(wait >= 250 && wait <= 4000, `wait ${wait} out of bounds`);
  }
});

Deno.test("Backoff.reset() starts over from min, jittered up to 2·min", () => {
  const top = new Backoff({ min: 100, max: 1000 }, () => 1);
  for (let i = 0; i < 5; i++) top.next();
  top.reset();
  assert.equal(top.attempt, 0);
  // Band tops after a reset: 200, 400, 800, then the cap.
  assert.deepEqual(Array.from({ length: 5 }, () => top.next()), [200, 400, 800, 1000, 1000]);
  const bottom = new Backoff({ min: 100, max: 1000 }, () => 0);
  bottom.next();
  bottom.reset();
  assert.equal(bottom.next(), 100, "never below min");
  // With max = min there is no room for jitter.
  const flat = new Backoff({ min: 100, max: 100 }, () => 1);
  flat.reset();
  assert.equal(flat.next(), 100);
});

Deno.test("Backoff.next() honours a server floor longer than the draw", () => {
  const backoff = new Backoff({ min: 100, max: 1000 }, () => 1);
  assert.equal(backoff.next(5000), 5000);
  assert.equal(backoff.next(50), 200);
});

Deno.test("Backoff throws RangeError for unusable bounds", () => {
  assert.throws(() => new Backoff({ min: 0 }), RangeError);
  assert.throws(() => new Backoff({ min: 2000, max: 1000 }), /expected >= min/);
  assert.throws(() => new Backoff({ min: Number.NaN }), RangeError);
  assert.throws(() => new Backoff({ healthyAfter: -1 }), RangeError);
});

Deno.test("assertReconnectOptions() throws what Backoff throws for unusable bounds", () => {
  for (
    const bad of [{ min: 0 }, { min: 2000, max: 1000 }, { min: Number.NaN }, { max: Infinity }, {
      healthyAfter: -1,
    }]
  ) {
    const expected = (() => {
      try {
        new Backoff(bad);
      } catch (error) {
        return (error as Error).message;
      }
    })();
    assert.ok(expected, `Backoff accepted ${JSON.stringify(bad)}`);
    assert.throws(() => assertReconnectOptions(bad), { name: "RangeError", message: expected });
  }
  assertReconnectOptions(undefined);
  assertReconnectOptions({ min: 5000 });
});
