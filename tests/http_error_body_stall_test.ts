/**
 * A 5xx or 429 whose error body starts and then stalls: the client reads
 * the excerpt for at most `ERROR_BODY_WAIT` ms, then cancels the body and
 * classifies the answer by its status, with what arrived as the excerpt.
 * Over real loopback HTTP; fake time drives the bound (the body's I/O stays
 * real and never completes, so only the bound can end the read).
 */
import assert from "node:assert/strict";
import { EventsClient, listen, ListenerReadiness, TransientError } from "../mod.ts";
import { ERROR_BODY_WAIT } from "../src/http_errors.ts";
import { fakeTime } from "./_fake_time.ts";
import { scriptedServer, stalledBody, untilReal } from "./_scripted_server.ts";

const PARTIAL = '{"error":{"type":"unavailable","mess';

Deno.test("EventsClient.open() classifies a 503 whose body stalls after ERROR_BODY_WAIT ms, with what arrived", async () => {
  assert.equal(ERROR_BODY_WAIT, 2_000);
  let cancelled = false;
  await using server = scriptedServer(() =>
    new Response(stalledBody(PARTIAL, server.stopping, () => cancelled = true), {
      status: 503,
      headers: { "retry-after": "7" },
    })
  );
  using time = fakeTime();
  const outcome: { error?: unknown } = {};
  const opening = new EventsClient({ baseUrl: server.url }).open({ name: "stall.body" })
    .then(() => outcome.error = "opened", (error) => outcome.error = error);
  await untilReal(() => time.clock.countTimers() === 1, "the excerpt's bound to be armed");
  await time.clock.tickAsync(ERROR_BODY_WAIT - 1);
  assert.equal(outcome.error, undefined, "still reading within the bound");
  await time.clock.tickAsync(1);
  await untilReal(() => "error" in outcome, "the answer to be classified");
  await opening;
  const error: unknown = outcome.error;
  assert.ok(error instanceof TransientError, String(error));
  assert.equal(error.status, 503);
  assert.equal(error.code, "unavailable");
  assert.equal(error.retryAfter, 7_000);
  assert.equal(error.bodyExcerpt, PARTIAL);
  await untilReal(() => cancelled, "the stalled body to be cancelled");
});

Deno.test("listen() retries as usual after a 429 whose error body never arrives", async () => {
  await using server = scriptedServer((n) =>
    n === 0
      ? new Response(stalledBody('{"error":', server.stopping), { status: 429 })
      : new Response("", { headers: { "content-type": "application/x-ndjson" } })
  );
  using time = fakeTime();
  const readiness = new ListenerReadiness();
  const stop = new AbortController();
  const listening = listen({
    transport: new EventsClient({ baseUrl: server.url }),
    stream: { name: "stall.body" },
    reconnect: { min: 100, max: 100 },
    readiness,
    signal: stop.signal,
    onEvent: () => {},
  });
  try {
    await untilReal(() => time.clock.countTimers() === 1, "the excerpt's bound to be armed");
    await time.clock.tickAsync(ERROR_BODY_WAIT);
    await untilReal(() => readiness.reason.includes("429"), "the 429 to fail the listener");
    assert.match(readiness.reason, /TransientError: Cannot open stream: Events API answered 429/);
    await time.clock.tickAsync(100);
    await untilReal(() => server.requests.length === 2, "the reconnect after the backoff");
  } finally {
    stop.abort();
    await listening;
  }
});
