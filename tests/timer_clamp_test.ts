/**
 * Waits longer than a timer can hold (2^31 − 1 ms) are clamped to that, not
 * fired after 1 ms: `setTimeout` overflows, and fake time (sinon) overflows
 * the same way, so these tests fail where the clamp is missing. Then the
 * listener over real HTTP, where a server's 30-day `Retry-After` or a
 * 35-day SSE `retry:` must not become a hot reconnect loop.
 */
import assert from "node:assert/strict";
import { delay, EventsClient, listen } from "../mod.ts";
import { MAX_TIMER_DELAY, settlesWithin, timerDelay, withDrainDeadline } from "../src/async.ts";
import { type PendingOwner, PendingRequest } from "../src/pending.ts";
import { RequestTimeoutError } from "../src/errors.ts";
import { fakeTime } from "./_fake_time.ts";
import { captureLogs } from "./_log_capture.ts";
import { scriptedServer, untilReal } from "./_scripted_server.ts";

const THIRTY_DAYS = 30 * 24 * 3600 * 1000;

Deno.test("timerDelay() clamps to 2^31 − 1 ms and turns negative or NaN waits into 0", () => {
  assert.equal(MAX_TIMER_DELAY, 2_147_483_647);
  assert.equal(timerDelay(THIRTY_DAYS), MAX_TIMER_DELAY);
  assert.equal(timerDelay(Infinity), MAX_TIMER_DELAY);
  assert.equal(timerDelay(MAX_TIMER_DELAY), MAX_TIMER_DELAY);
  assert.equal(timerDelay(1500), 1500);
  assert.equal(timerDelay(-5), 0);
  assert.equal(timerDelay(Number.NaN), 0);
});

Deno.test("delay() of 30 days waits 2^31 − 1 ms, not 1 ms", async () => {
  using time = fakeTime();
  let done = false;
  const waiting = delay(THIRTY_DAYS).then(() => done = true);
  await time.clock.tickAsync(1);
  assert.equal(done, false, "an overflowing timer fires after 1 ms");
  await time.clock.tickAsync(MAX_TIMER_DELAY - 2);
  assert.equal(done, false);
  await time.clock.tickAsync(1);
  await waiting;
  assert.equal(time.elapsed, MAX_TIMER_DELAY);
});

Deno.test("settlesWithin() and withDrainDeadline() clamp a wait of Infinity", async () => {
  using time = fakeTime();
  const within = settlesWithin(new Promise(() => {}), Infinity);
  const drained = withDrainDeadline(
    new Promise<string>(() => {}),
    AbortSignal.abort(),
    Infinity,
    () => "timed out",
  );
  let settled = 0;
  within.then(() => settled++);
  drained.then(() => settled++);
  await time.clock.tickAsync(1);
  assert.equal(settled, 0, "an overflowing timer fires after 1 ms");
  await time.clock.tickAsync(MAX_TIMER_DELAY - 1);
  assert.equal(await within, false);
  assert.equal(await drained, "timed out");
});

Deno.test("PendingRequest.start() arms a timeout above 2^31 − 1 ms at the clamp", async () => {
  using time = fakeTime();
  const owner: PendingOwner = {
    counts: { answered: 0, failed: 0, timedOut: 0 },
    forget: () => {},
  };
  const errors: unknown[] = [];
  const entry = new PendingRequest("c-1", 2 ** 31, owner, () => {}, (e) => errors.push(e));
  entry.start();
  await time.clock.tickAsync(1);
  assert.equal(errors.length, 0, "an overflowing timer fires after 1 ms");
  await time.clock.tickAsync(MAX_TIMER_DELAY - 1);
  assert.ok(errors[0] instanceof RequestTimeoutError);
});

/** One failing stream answer per case: what makes the listener wait long. */
const longHints: [string, () => Response][] = [
  [
    "503 with Retry-After: 30 days",
    () =>
      new Response('{"error":{"type":"unavailable","message":"down for maintenance"}}', {
        status: 503,
        headers: { "content-type": "application/json", "retry-after": String(THIRTY_DAYS / 1000) },
      }),
  ],
  [
    "an SSE stream ending after retry: 3000000000",
    () =>
      new Response("retry: 3000000000\n\n", { headers: { "content-type": "text/event-stream" } }),
  ],
];

for (const [label, answer] of longHints) {
  Deno.test(`listen() after ${label} waits 2^31 − 1 ms before reconnecting`, async () => {
    await using logs = await captureLogs("warning");
    await using server = scriptedServer(answer);
    using time = fakeTime();
    const stop = new AbortController();
    const listening = listen({
      transport: new EventsClient({ baseUrl: server.url }),
      stream: { name: "clamp.ping" },
      reconnect: { min: 1000, max: 2000 },
      signal: stop.signal,
      onEvent: () => {},
    });
    try {
      await untilReal(
        () => logs.length === 1 && time.clock.countTimers() === 1,
        "the reconnect wait",
      );
      assert.equal(logs[0]!.properties.wait, MAX_TIMER_DELAY, "the log says what is waited");
      const before = time.clock.now;
      await time.clock.nextAsync();
      assert.equal(time.clock.now - before, MAX_TIMER_DELAY, "the wait's timer fires at the clamp");
      await untilReal(() => server.requests.length === 2, "the reconnect");
    } finally {
      stop.abort();
      await listening;
    }
  });
}
