/**
 * `EventsClient`'s `idleTimeout`: a stream that receives nothing for that
 * long fails with a `TransientError` of code `idle`, and a listener
 * reconnects it from its resume point. Over real loopback HTTP, with the
 * server's bytes pushed by the test; fake time drives the bound (the I/O
 * stays real, so every wait for bytes is a real-time wait).
 */
import assert from "node:assert/strict";
import { createEventsApi } from "../testing.ts";
import {
  type EventEnvelope,
  EventsClient,
  listen,
  ListenerReadiness,
  TransientError,
} from "../mod.ts";
import { openTransport } from "../src/cli/transport.ts";
import { fakeTime } from "./_fake_time.ts";
import { pushableBody, scriptedServer, untilReal } from "./_scripted_server.ts";

const IDLE = 30_000;
const SSE = { "content-type": "text/event-stream" };
const sseEvent = (id: string) =>
  `id: ${id}\ndata: ${JSON.stringify({ id, name: "idle.watch", payload: {} })}\n\n`;

/** Reads `stream.next()` into an outcome the test can look at without awaiting it. */
function pending<T>(promise: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const outcome: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then((value) => Object.assign(outcome, { value, done: true }), (error) => {
    Object.assign(outcome, { error, done: true });
  });
  return outcome;
}

Deno.test("a stream that receives nothing for idleTimeout ms fails with code idle and drops the connection", async () => {
  const pushed: ReturnType<typeof pushableBody>[] = [];
  await using server = scriptedServer(() => {
    const body = pushableBody(server.stopping);
    pushed.push(body);
    body.push(sseEvent("e1"));
    return new Response(body.body, { headers: SSE });
  });
  using time = fakeTime();
  const stream = await new EventsClient({ baseUrl: server.url, idleTimeout: IDLE })
    .open({ name: "idle.watch" });
  const first = await stream.next();
  assert.equal((first.value as EventEnvelope).id, "e1");
  const next = pending(stream.next());
  await untilReal(() => time.clock.countTimers() === 1, "the idle bound to be armed");
  await time.clock.tickAsync(IDLE - 1);
  assert.equal(next.done, false, "still waiting within the bound");
  await time.clock.tickAsync(1);
  await untilReal(() => next.done, "the idle stream to fail");
  assert.ok(next.error instanceof TransientError, String(next.error));
  assert.equal(next.error.code, "idle");
  assert.match(next.error.message, /nothing arrived for 30000 ms \(the client's idleTimeout\)/);
  await untilReal(() => pushed[0]!.cancelled, "the server to see the connection dropped");
  assert.equal(time.clock.countTimers(), 0, "no timer left behind");
});

Deno.test("bytes that are no event (an SSE comment, a retry field) keep a stream alive; the bound counts from the last", async () => {
  let body!: ReturnType<typeof pushableBody>;
  await using server = scriptedServer(() => {
    body = pushableBody(server.stopping);
    return new Response(body.body, { headers: SSE });
  });
  using time = fakeTime();
  const stream = await new EventsClient({ baseUrl: server.url, idleTimeout: IDLE })
    .open({ name: "idle.watch" });
  const next = pending(stream.next());
  // Five heartbeats 20 s apart: 100 s in all, each gap under the bound.
  for (let beat = 1; beat <= 5; beat++) {
    await time.clock.tickAsync(20_000);
    // A retry field is a heartbeat the test can see arrive: it sets the hint.
    body.push(`: keep-alive\nretry: ${1000 + beat}\n\n`);
    await untilReal(() => stream.reconnectHint === 1000 + beat, `heartbeat ${beat} to arrive`);
  }
  assert.equal(next.done, false, "alive after 100 s of heartbeats");
  await time.clock.tickAsync(IDLE - 1);
  assert.equal(next.done, false, "the bound counts from the last heartbeat");
  await time.clock.tickAsync(1);
  await untilReal(() => next.done, "the stream to fail once the heartbeats stop");
  assert.equal((next.error as TransientError).code, "idle");
});

Deno.test("a consumer that reads nothing is not idle: only the wait for bytes counts", async () => {
  await using server = scriptedServer(() => {
    const body = pushableBody(server.stopping);
    body.push(sseEvent("e1"));
    return new Response(body.body, { headers: SSE });
  });
  using time = fakeTime();
  const stream = await new EventsClient({ baseUrl: server.url, idleTimeout: IDLE })
    .open({ name: "idle.watch" });
  await stream.next();
  // Busy for most of the bound without asking for more: nothing is waiting,
  // though the bound's timer, armed by the first read, runs on.
  await time.clock.tickAsync(IDLE - 10_000);
  const next = pending(stream.next());
  await time.clock.tickAsync(IDLE - 1);
  assert.equal(next.done, false, "the wait began with the read, not with the last chunk");
  await time.clock.tickAsync(1);
  await untilReal(() => next.done, "the stream to fail");
  assert.equal((next.error as TransientError).code, "idle");
});

Deno.test("listen() reconnects an idle stream from its resume point, and readiness says why", async () => {
  await using server = scriptedServer((n) => {
    const body = pushableBody(server.stopping);
    if (n === 0) body.push(sseEvent("e1"));
    else body.push(sseEvent("e2"));
    return new Response(body.body, { headers: SSE });
  });
  using time = fakeTime();
  const readiness = new ListenerReadiness();
  const stop = new AbortController();
  const seen: string[] = [];
  const listening = listen({
    transport: new EventsClient({ baseUrl: server.url, idleTimeout: IDLE }),
    stream: { name: "idle.watch" },
    reconnect: { min: 100, max: 100 },
    readiness,
    signal: stop.signal,
    onEvent: (event) => {
      seen.push(event.id!);
    },
  });
  try {
    await untilReal(() => seen.length === 1, "the first event");
    await untilReal(() => time.clock.countTimers() >= 1, "the idle bound to be armed");
    await time.clock.tickAsync(IDLE);
    await untilReal(
      () => readiness.reason.includes("idle"),
      "the idle stream to fail the listener",
    );
    assert.match(readiness.reason, /nothing arrived for 30000 ms/);
    await time.clock.tickAsync(100);
    await untilReal(() => seen.length === 2, "the reconnected stream's event");
    assert.deepEqual(seen, ["e1", "e2"]);
    assert.equal(server.requests[1]!.headers.get("last-event-id"), "e1");
  } finally {
    stop.abort();
    await listening;
  }
});

Deno.test("the reference server's heartbeats keep a quiet stream open, in both framings; without them it fails", async () => {
  // In process (the client's fetch is the server's handler): fake time then
  // moves the heartbeats' bytes too, so each reaches the client before the
  // next tick. The real-loopback cases above push their bytes by hand.
  for (const accept of ["application/x-ndjson", "text/event-stream"]) {
    for (const heartbeatMs of [10_000, 0]) {
      using time = fakeTime();
      const api = createEventsApi({ auth: false, heartbeatMs });
      const client = new EventsClient({
        baseUrl: "http://reference.test",
        fetch: (request) => api.fetch(request),
        accept,
        idleTimeout: 25_000,
      });
      const stream = await client.open({ name: "idle.quiet" });
      const next = pending(stream.next());
      await time.clock.tickAsync(60_000);
      const what = `${accept}, heartbeat ${heartbeatMs} ms`;
      if (heartbeatMs === 0) {
        assert.ok(next.error instanceof TransientError, `${what}: ${String(next.error)}`);
        assert.equal(next.error.code, "idle");
        assert.equal(time.elapsed, 60_000);
      } else {
        assert.equal(next.done, false, `${what}: 60 s of heartbeats keep it open`);
        await stream.close();
      }
      await api.close();
    }
  }
});

Deno.test("the command's client gets the idleTimeout BUS_EVENTS_STREAM_IDLE_TIMEOUT gave", async () => {
  await using server = scriptedServer(() =>
    new Response(pushableBody(server.stopping).body, { headers: SSE })
  );
  using time = fakeTime();
  const transport = await openTransport(
    { kind: "http" },
    () => ({ baseUrl: server.url, token: "t", tokenSource: "test", idleTimeout: 5_000 }),
    "test-agent",
  );
  const stream = await (transport as EventsClient).open({ name: "idle.watch" });
  const next = pending(stream.next());
  await untilReal(() => time.clock.countTimers() === 1, "the idle bound to be armed");
  await time.clock.tickAsync(5_000);
  await untilReal(() => next.done, "the idle stream to fail");
  assert.equal((next.error as TransientError).code, "idle");
});

Deno.test("idleTimeout must be a whole number of ms from 1 to 2^31 − 1", () => {
  for (const idleTimeout of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31, "30000"]) {
    assert.throws(
      () => new EventsClient({ baseUrl: "http://127.0.0.1:1", idleTimeout: idleTimeout as number }),
      (error: unknown) =>
        error instanceof RangeError && /^Cannot use idleTimeout /.test(error.message),
      String(idleTimeout),
    );
  }
  new EventsClient({ baseUrl: "http://127.0.0.1:1", idleTimeout: 2 ** 31 - 1 });
  new EventsClient({ baseUrl: "http://127.0.0.1:1", idleTimeout: 1 });
});
