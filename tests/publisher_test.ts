/**
 * `EventPublisher` against the reference server over real loopback HTTP:
 * each test publishes through the publisher and then reads back what the
 * server stored (a replay stream with `follow=false`).
 */
import assert from "node:assert/strict";
import { type EventEnvelope, EventsClient } from "../mod.ts";
import { EventPublisher } from "../src/publisher.ts";
import { startServer, type TestServer } from "./_server.ts";

/** A request as a worker would have received it. */
const REQUEST: EventEnvelope = {
  id: "evt-1",
  name: "demo.job.request",
  correlationId: "corr-1",
  source: "requester-1",
  payload: { job: 1 },
};

/** Every event the server retained under `name`, oldest first. */
async function stored(server: TestServer, name: string): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for await (const event of server.client.stream({ name, replay: true, follow: false })) {
    events.push(event);
  }
  return events;
}

function publisherFor(
  server: TestServer,
  event: EventEnvelope = REQUEST,
  source: string | undefined = "worker-a",
  signal: AbortSignal = new AbortController().signal,
): EventPublisher {
  return new EventPublisher(server.client, event, signal, source);
}

Deno.test("EventPublisher exposes the handled event and the handler's signal", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const publisher = publisherFor(server, REQUEST, "worker-a", controller.signal);
  assert.equal(publisher.event, REQUEST);
  assert.equal(publisher.signal, controller.signal);
});

Deno.test("EventPublisher.publish() stores the event with the worker's source when none is given", async () => {
  await using server = await startServer();
  const result = await publisherFor(server).publish("demo.audit", { step: "started" });
  assert.equal(result.name, "demo.audit");
  const [event, ...rest] = await stored(server, "demo.audit");
  assert.equal(rest.length, 0);
  assert.equal(event!.id, result.id);
  assert.equal(event!.name, "demo.audit");
  assert.deepEqual(event!.payload, { step: "started" });
  assert.equal(event!.source, "worker-a");
  assert.equal(event!.correlationId, undefined, "a free event is not correlated");
  assert.equal(event!.version, "v1");
});

Deno.test("EventPublisher.publish() sends the given source instead of the worker's", async () => {
  await using server = await startServer();
  await publisherFor(server).publish("demo.audit", {}, { source: "other-producer" });
  const [event] = await stored(server, "demo.audit");
  assert.equal(event!.source, "other-producer");
});

Deno.test("EventPublisher.publish() omits source when the worker has none and none is given", async () => {
  await using server = await startServer();
  const signal = new AbortController().signal;
  await new EventPublisher(server.client, REQUEST, signal, undefined).publish("demo.audit", {});
  const [event] = await stored(server, "demo.audit");
  assert.equal("source" in event!, false, "the handled event's source is not copied");
});

Deno.test("EventPublisher.publish() passes correlationId, metadata and timestamp through", async () => {
  await using server = await startServer();
  const timestamp = "2025-01-02T03:04:05.000Z";
  await publisherFor(server).publish("demo.audit", [1, 2], {
    correlationId: "corr-free",
    metadata: { "idempotency-key": "k-1", traceparent: "00-abc-def-01" },
    timestamp,
  });
  const [event] = await stored(server, "demo.audit");
  assert.equal(event!.correlationId, "corr-free");
  assert.deepEqual(event!.metadata, { "idempotency-key": "k-1", traceparent: "00-abc-def-01" });
  assert.equal(event!.timestamp, timestamp);
  assert.deepEqual(event!.payload, [1, 2]);
});

Deno.test("EventPublisher.publish() stamps a current timestamp when none is given", async () => {
  await using server = await startServer();
  const before = Date.now();
  await publisherFor(server).publish("demo.audit", {});
  const after = Date.now();
  const [event] = await stored(server, "demo.audit");
  const at = Date.parse(event!.timestamp!);
  assert.ok(at >= before - 1 && at <= after + 1, `timestamp ${event!.timestamp} is not now`);
});

Deno.test("EventPublisher.publish() rejects with TypeError and stores nothing when the name is invalid", async () => {
  await using server = await startServer();
  await assert.rejects(publisherFor(server).publish("Demo.Bad", {}), TypeError);
  assert.equal(server.api.stats.published, 0);
});

Deno.test("EventPublisher.reply() publishes the derived response name with the request's correlationId", async () => {
  await using server = await startServer();
  const result = await publisherFor(server).reply({ ok: true });
  assert.equal(result.name, "demo.job.response");
  const [response, ...rest] = await stored(server, "demo.job.response");
  assert.equal(rest.length, 0);
  assert.equal(response!.id, result.id);
  assert.equal(response!.correlationId, "corr-1");
  assert.deepEqual(response!.payload, { ok: true });
  assert.equal(response!.source, "worker-a");
  assert.equal(response!.error, undefined);
});

Deno.test("EventPublisher.reply() appends .response when the event name has no .request suffix", async () => {
  await using server = await startServer();
  const event = { ...REQUEST, name: "demo.job.ask" };
  const result = await publisherFor(server, event).reply("done");
  assert.equal(result.name, "demo.job.ask.response");
  const [response] = await stored(server, "demo.job.ask.response");
  assert.equal(response!.correlationId, "corr-1");
  assert.equal(response!.payload, "done");
});

Deno.test("EventPublisher.reply() sends the given source and metadata", async () => {
  await using server = await startServer();
  await publisherFor(server).reply(1, { source: "worker-b", metadata: { shard: "7" } });
  const [response] = await stored(server, "demo.job.response");
  assert.equal(response!.source, "worker-b");
  assert.deepEqual(response!.metadata, { shard: "7" });
  assert.equal(response!.correlationId, "corr-1");
});

Deno.test("EventPublisher.reply() keeps the request's correlationId whatever init says", async () => {
  await using server = await startServer();
  const publisher = publisherFor(server);
  await publisher.reply({}, { correlationId: undefined });
  await publisher.replyError("bad", "x", { correlationId: "someone-else" });
  const responses = await stored(server, "demo.job.response");
  assert.deepEqual(responses.map((r) => r.correlationId), ["corr-1", "corr-1"]);
});

Deno.test("EventPublisher.reply() throws TypeError and publishes nothing when the event has no correlationId", async () => {
  await using server = await startServer();
  const { correlationId: _, ...uncorrelated } = REQUEST;
  const publisher = publisherFor(server, uncorrelated);
  await assert.rejects(
    publisher.reply({}),
    (error) =>
      error instanceof TypeError && /demo\.job\.request/.test(error.message) &&
      /no correlationId/.test(error.message),
  );
  await assert.rejects(publisher.replyError("E", "m"), TypeError);
  assert.equal(server.api.stats.published, 0);
});

Deno.test("EventPublisher.replyError() sends error {code, message} and no payload", async () => {
  await using server = await startServer();
  const result = await publisherFor(server).replyError("job_failed", "disk full");
  assert.equal(result.name, "demo.job.response");
  const [response] = await stored(server, "demo.job.response");
  assert.deepEqual(response!.error, { code: "job_failed", message: "disk full" });
  assert.equal("payload" in response!, false);
  assert.equal(response!.correlationId, "corr-1");
  assert.equal(response!.source, "worker-a");
});

Deno.test("EventPublisher.replyError() sends the given source", async () => {
  await using server = await startServer();
  await publisherFor(server).replyError("E", "m", { source: "worker-c" });
  const [response] = await stored(server, "demo.job.response");
  assert.equal(response!.source, "worker-c");
});

Deno.test("EventPublisher.publish() rejects with signal.reason and stores nothing when the signal has already aborted", async () => {
  await using server = await startServer();
  const reason = new Error("handler gave up");
  await assert.rejects(
    publisherFor(server).publish("demo.audit", {}, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  await assert.rejects(
    publisherFor(server).reply({}, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(server.api.stats.published, 0);
});

Deno.test("EventPublisher.publish() rejects with signal.reason when the signal aborts mid-request", async () => {
  await using server = await startServer();
  // The request waits at a gate before it reaches the real server; the
  // signal aborts while it waits.
  let arrived!: () => void;
  const atGate = new Promise<void>((resolve) => arrived = resolve);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const gated = new EventsClient({
    baseUrl: server.served.url,
    token: server.token,
    fetch: async (request: Request) => {
      arrived();
      await gate;
      return await fetch(request);
    },
  });
  const controller = new AbortController();
  const reason = new Error("drain timeout");
  const publisher = new EventPublisher(gated, REQUEST, controller.signal, "worker-a");
  const publishing = publisher.publish("demo.audit", {}, { signal: controller.signal });
  await atGate;
  controller.abort(reason);
  open();
  await assert.rejects(publishing, (error) => error === reason);
  assert.equal(server.api.stats.published, 0);
  assert.deepEqual(await stored(server, "demo.audit"), []);
});

Deno.test("EventPublisher.reply() publishes the envelope as it is without an SDK and traced once one is registered", async () => {
  const { MemoryTransport } = await import("./_memory_transport.ts");
  const { installOtel } = await import("./_otel.ts");
  const transport = new MemoryTransport();
  const publisher = new EventPublisher(transport, REQUEST, new AbortController().signal, "w-1");
  await publisher.reply({ n: 1 });
  assert.equal(transport.published[0]!.metadata, undefined, "no trace context without an SDK");
  {
    await using otel = installOtel();
    await publisher.reply({ n: 2 });
    assert.deepEqual(otel.spans().map((span) => span.name), ["send demo.job.response"]);
    assert.match(transport.published[1]!.metadata?.traceparent ?? "", /^00-[0-9a-f]{32}-/);
  }
  await publisher.reply({ n: 3 });
  assert.equal(transport.published[2]!.metadata, undefined, "untraced again once it is disabled");
  assert.deepEqual(transport.published.map((event) => event.payload), [{ n: 1 }, { n: 2 }, {
    n: 3,
  }]);
});

Deno.test("EventPublisher.reply() with discardId resolves without the id, stores the reply whole and sends no discardId field", async () => {
  await using server = await startServer();
  const publisher = publisherFor(server);
  const reply = await publisher.reply({ ok: 1 }, { discardId: true, metadata: { shard: "2" } });
  const error = await publisher.replyError("E", "m", { discardId: true });
  const free = await publisher.publish("demo.audit", 1, { discardId: true });
  assert.deepEqual([reply, error, free], [
    { id: undefined, name: "demo.job.response" },
    { id: undefined, name: "demo.job.response" },
    { id: undefined, name: "demo.audit" },
  ]);
  const [answer, failure] = await stored(server, "demo.job.response");
  assert.deepEqual(answer!.payload, { ok: 1 });
  assert.deepEqual(answer!.metadata, { shard: "2" });
  assert.equal(answer!.correlationId, "corr-1");
  assert.equal(answer!.source, "worker-a");
  assert.deepEqual(failure!.error, { code: "E", message: "m" });
  assert.equal("discardId" in answer!, false, "an option, not an envelope field");
  assert.equal((await stored(server, "demo.audit")).length, 1);
});

Deno.test("EventPublisher.reply() with discardId still rejects when the server refuses", async () => {
  await using server = await startServer();
  // A client whose token the server does not know: the publish is refused (401).
  const stranger = new EventsClient({ baseUrl: server.served.url, token: "not-a-token" });
  const publisher = new EventPublisher(stranger, REQUEST, new AbortController().signal, "w");
  await assert.rejects(publisher.reply({}, { discardId: true }), /401|unauthori[sz]ed|token/i);
  assert.equal(server.api.stats.published, 0);
});

Deno.test("EventPublisher.reply() with discardId still reads the id while a tracing SDK records it", async () => {
  const { installOtel } = await import("./_otel.ts");
  await using server = await startServer();
  await using otel = installOtel();
  const result = await publisherFor(server).reply({ ok: 1 }, { discardId: true });
  const [stored_] = await stored(server, "demo.job.response");
  assert.equal(result.id, stored_!.id);
  const [span] = otel.spans();
  assert.equal(span!.attributes["messaging.message.id"], stored_!.id);
});
