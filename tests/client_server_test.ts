/**
 * EventsClient against the reference server over real loopback HTTP.
 */
import assert from "node:assert/strict";
import {
  AuthError,
  BadRequestError,
  type EventEnvelope,
  type InvalidInput,
  Requester,
  runWorker,
  TransientError,
  WorkerStats,
} from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer, take } from "./_server.ts";

Deno.test("client publishes and the server stamps id, identity and defaults", async () => {
  await using server = await startServer();
  const result = await server.client.publish({
    name: "demo.ping",
    correlationId: "c-1",
    payload: { n: 1 },
    identity_id: "spoofed",
    extra: { kept: true },
  });
  assert.equal(result.name, "demo.ping");
  assert.equal(typeof result.id, "string");
  const [event] = await take(
    server.client.stream({ name: "demo.ping", replay: true, follow: false }),
    1,
  );
  assert.equal(event!.id, result.id);
  assert.equal(event!.identity_id, "tester");
  assert.equal(event!.version, "v1");
  assert.deepEqual(event!.extra, { kept: true });
  assert.deepEqual(event!.payload, { n: 1 });
});

Deno.test("client publish with discardId resolves without the id and still throws when refused", async () => {
  await using server = await startServer();
  const results = [];
  for (let n = 0; n < 20; n++) {
    results.push(
      await server.client.publish({ name: "demo.quiet", payload: n }, { discardId: true }),
    );
  }
  assert.deepEqual(results[0], { id: undefined, name: "demo.quiet" });
  const events = await take(
    server.client.stream({ name: "demo.quiet", replay: true, follow: false }),
    20,
  );
  assert.deepEqual(events.map((event) => event.payload), [...Array(20).keys()]);
  server.api.faults.failNext("publish", { status: 503 });
  await assert.rejects(
    server.client.publish({ name: "demo.quiet" }, { discardId: true }),
    TransientError,
  );
});

Deno.test("client broadcast: three listeners each get every event", async () => {
  await using server = await startServer();
  const listeners = [0, 1, 2].map(() => server.client.open({ name: "demo.fanout" }));
  const streams = await Promise.all(listeners);
  await until(() => server.api.stats.openStreams === 3, 5_000, "3 open streams");
  const received = streams.map((stream) => take(stream, 20));
  for (let i = 0; i < 20; i++) await server.client.publish({ name: "demo.fanout", payload: i });
  for (const events of await Promise.all(received)) {
    assert.deepEqual(events.map((e) => e.payload), Array.from({ length: 20 }, (_, i) => i));
  }
  await until(() => server.api.stats.openStreams === 0, 5_000, "streams released");
});

Deno.test("client unicast: 1,000 events spread over 3 consumers, each handled exactly once", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const seen = new Map<string, number[]>();
  const consumers = ["c1", "c2", "c3"].map(async (consumer) => {
    const stream = await server.client.open({
      name: "demo.work",
      delivery: "unicast",
      group: "workers",
      consumer,
      signal: controller.signal,
    });
    const mine: number[] = [];
    seen.set(consumer, mine);
    try {
      for await (const event of stream) mine.push(event.payload as number);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  });
  await until(() => server.api.stats.openStreams === 3, 5_000, "3 consumers");
  for (let i = 0; i < 1000; i++) await server.client.publish({ name: "demo.work", payload: i });
  await until(
    () => [...seen.values()].reduce((n, list) => n + list.length, 0) >= 1000,
    10_000,
    "1,000 deliveries",
  );
  controller.abort();
  await Promise.all(consumers);
  const all = [...seen.values()].flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => i), "each exactly once");
  for (const [consumer, list] of seen) assert.ok(list.length > 0, `${consumer} got none`);
});

Deno.test("client replay with follow=false returns the history and ends", async () => {
  await using server = await startServer();
  for (let i = 0; i < 5; i++) await server.client.publish({ name: "demo.log", payload: i });
  const events: EventEnvelope[] = [];
  for await (
    const event of server.client.stream({ name: "demo.log", replay: true, follow: false })
  ) {
    events.push(event);
  }
  assert.deepEqual(events.map((e) => e.payload), [0, 1, 2, 3, 4]);
});

Deno.test("client reads SSE when it prefers text/event-stream, NDJSON by default", async () => {
  await using server = await startServer();
  for (let i = 0; i < 3; i++) await server.client.publish({ name: "demo.sse", payload: `ä${i}` });
  const sseClient = server.newClient({ accept: "text/event-stream" });
  const sse = await sseClient.open({ name: "demo.sse", replay: true, follow: false });
  assert.equal(sse.framing, "sse");
  const sseEvents = await take(sse, 3);
  const ndjson = await server.client.open({ name: "demo.sse", replay: true, follow: false });
  assert.equal(ndjson.framing, "ndjson");
  const ndjsonEvents = await take(ndjson, 3);
  assert.deepEqual(sseEvents, ndjsonEvents);
  for (const event of sseEvents) await sse.settle(event, { type: "done" });
  assert.equal(sse.lastEventId, sseEvents[2]!.id);
});

Deno.test("client resumes a broadcast stream with Last-Event-ID without gap or duplicate", async () => {
  await using server = await startServer();
  const ids: Array<string | undefined> = [];
  for (let i = 0; i < 6; i++) {
    ids.push((await server.client.publish({ name: "demo.r", payload: i })).id);
  }
  const events = await take(server.client.stream({ name: "demo.r", lastEventId: ids[2] }), 3);
  assert.deepEqual(events.map((e) => e.payload), [3, 4, 5]);
});

Deno.test("client maps the server's 400, 401, 403, 429 and 503 answers", async () => {
  await using server = await startServer();
  await assert.rejects(
    server.client.open({ name: "demo.x", delivery: "sideways" as "unicast" }),
    BadRequestError,
  );
  const noToken = server.newClient({ token: "not-a-jwt" });
  await assert.rejects(
    noToken.publish({ name: "demo.x" }),
    (e) => e instanceof AuthError && e.status === 401,
  );
  const listenOnly = server.newClient({
    token: await server.api.mintToken({ sub: "l", scopes: ["events:listen"] }),
  });
  await assert.rejects(
    listenOnly.publish({ name: "demo.x" }),
    (e) => e instanceof AuthError && e.status === 403,
  );
  server.api.faults.failNext("publish", { status: 429, retryAfter: 2 });
  await assert.rejects(
    server.client.publish({ name: "demo.x" }),
    (e) => e instanceof TransientError && e.status === 429 && e.retryAfter === 2000,
  );
  server.api.faults.failNext("stream", { status: 503, retryAfter: 1 });
  await assert.rejects(
    server.client.open({ name: "demo.x" }),
    (e) => e instanceof TransientError && e.status === 503 && e.retryAfter === 1000,
  );
  // The failures were one-shot.
  await server.client.publish({ name: "demo.x" });
});

Deno.test("client skips and reports malformed lines and keeps what came before and after", async () => {
  await using server = await startServer();
  const invalid: InvalidInput[] = [];
  const stream = await server.client.open({ name: "demo.m", onInvalid: (i) => invalid.push(i) });
  await until(() => server.api.stats.openStreams === 1);
  await server.client.publish({ name: "demo.m", payload: 1 });
  await until(() => server.api.stats.delivered({ name: "demo.m" }) === 1);
  server.api.faults.sendMalformed("{not json");
  await server.client.publish({ name: "demo.m", payload: 2 });
  const events = await take(stream, 2);
  assert.deepEqual(events.map((e) => e.payload), [1, 2]);
  assert.equal(invalid.length, 1);
  assert.match(invalid[0]!.excerpt, /not json/);
});

Deno.test("client skips an oversized event, reports it and delivers the next on the same connection", async () => {
  await using server = await startServer();
  for (const accept of ["application/x-ndjson", "text/event-stream"]) {
    let opens = 0;
    const client = server.newClient({
      maxLineBytes: 4096,
      accept,
      fetch: (request) => {
        if (request.method === "GET") opens++;
        return fetch(request);
      },
    });
    const invalid: InvalidInput[] = [];
    const stream = await client.open({ name: "demo.big", onInvalid: (i) => invalid.push(i) });
    await until(() => server.api.stats.openStreams === 1);
    await server.client.publish({ name: "demo.big", payload: "small" });
    await server.client.publish({ name: "demo.big", payload: "x".repeat(10_000) });
    const { id: afterId } = await server.client.publish({ name: "demo.big", payload: "after" });
    const events = await take(stream, 2);
    assert.deepEqual(events.map((e) => e.payload), ["small", "after"], accept);
    assert.equal(events[1]!.id, afterId);
    assert.deepEqual(invalid.map(({ kind, limit }) => ({ kind, limit })), [
      { kind: "too-large", limit: 4096 },
    ]);
    assert.ok(invalid[0]!.size! > 10_000, `size ${invalid[0]!.size}`);
    assert.equal(opens, 1, "read on the connection it arrived on");
    await until(() => server.api.stats.openStreams === 0, 5_000, "connection released");
  }
});

Deno.test("client abort mid-stream rejects with the reason and releases the connection", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const stream = await server.client.open({ name: "demo.a", signal: controller.signal });
  await until(() => server.api.stats.openStreams === 1);
  const reason = new Error("shutting down");
  const reading = (async () => {
    for await (const _ of stream) controller.abort(reason);
  })();
  await server.client.publish({ name: "demo.a" });
  await assert.rejects(reading, (e) => e === reason);
  await until(() => server.api.stats.openStreams === 0, 5_000, "server saw the cancel");
});

Deno.test("client sees a server-side drop as TransientError", async () => {
  await using server = await startServer();
  const stream = await server.client.open({ name: "demo.d" });
  await until(() => server.api.stats.openStreams === 1);
  const reading = (async () => {
    for await (const _ of stream) { /* nothing arrives */ }
  })();
  server.api.faults.dropStreams();
  // A dropped stream either ends (EOF) or breaks; both must be retryable.
  await reading.then(
    () => {},
    (error) => assert.ok(error instanceof TransientError, String(error)),
  );
});

Deno.test("Requester and worker replies work when publish answers carry no id", async () => {
  await using server = await startServer();
  // A proxy in front of the server that answers every publish with a bare 204.
  let bare = 0;
  const client = server.newClient({
    fetch: async (request) => {
      const response = await fetch(request);
      if (request.method !== "POST" || !response.ok) return response;
      await response.body?.cancel();
      bare++;
      return new Response(null, { status: 204 });
    },
  });
  const controller = new AbortController();
  const replyIds: Array<string | undefined> = [];
  const worker = runWorker({
    transport: client,
    names: ["demo.noid.request"],
    delivery: "unicast",
    group: "noid",
    reconnect: { min: 20, max: 200 },
    signal: controller.signal,
    handler: async (event, publisher) => {
      replyIds.push((await publisher.reply({ echoed: event.payload })).id);
    },
  });
  await using requester = new Requester({
    transport: client,
    responseNames: ["demo.noid.response"],
    timeout: 5_000,
    reconnect: { min: 20, max: 200 },
  });
  await until(() => server.api.stats.openStreams === 2, 5_000, "worker and requester listening");
  const answers = await Promise.all(
    [1, 2, 3].map((n) => requester.request("demo.noid.request", n)),
  );
  assert.deepEqual(answers, [{ echoed: 1 }, { echoed: 2 }, { echoed: 3 }]);
  // A response can arrive before the proxy has answered its publish.
  await until(() => replyIds.length === 3, 5_000, "three replies answered");
  assert.deepEqual(replyIds, [undefined, undefined, undefined]);
  assert.equal(bare, 6, "three requests and three replies, each published once");
  controller.abort();
  await worker;
});

Deno.test("runWorker() counts an oversized event as invalid and handles the next one", async () => {
  await using server = await startServer();
  const client = server.newClient({ maxLineBytes: 4096 });
  const stats = new WorkerStats();
  const handled: unknown[] = [];
  const controller = new AbortController();
  const worker = runWorker({
    transport: client,
    names: ["demo.poison"],
    reconnect: { min: 20, max: 200 },
    stats,
    signal: controller.signal,
    handler: (event) => {
      handled.push(event.payload);
    },
  });
  await until(() => server.api.stats.openStreams === 1, 5_000, "the worker listening");
  await server.client.publish({ name: "demo.poison", payload: "x".repeat(10_000) });
  await server.client.publish({ name: "demo.poison", payload: "next" });
  await until(() => handled.length === 1, 5_000, "the event after the poison");
  assert.deepEqual(handled, ["next"]);
  assert.equal(stats.invalid, 1);
  controller.abort();
  await worker;
});
