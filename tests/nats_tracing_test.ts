/**
 * Tracing over a real `nats-server`: a request, the worker's handling and
 * its reply yield `send`, `process` and `settle` spans with the messaging
 * attributes and `messaging.system = nats`; the settle span is named after
 * the JetStream acknowledgement it wraps (`ack`, `nak`, `term`).
 */
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { ListenerReadiness, NonRetryableError, Requester, type WorkerOptions } from "../mod.ts";
import { connectNats, type NatsTransport } from "../nats.ts";
import { natsTest, startNatsServer } from "./_nats_server.ts";
import { installOtel } from "./_otel.ts";
import { until } from "./_poll.ts";
import { startWorker } from "./_worker_run.ts";

/** A worker of group `jobs`, once its consumer is open (a new consumer starts at new events). */
async function jobsWorker(transport: NatsTransport, extra: Partial<WorkerOptions>) {
  const readiness = new ListenerReadiness();
  const worker = startWorker({
    transport,
    readiness,
    names: ["job.run.request"],
    delivery: "unicast",
    group: "jobs",
    consumer: "jobs-1",
    handler: () => {},
    ...extra,
  });
  await readiness.waitReady(AbortSignal.timeout(10_000));
  return worker;
}

function named(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  assert.equal(found.length, 1, `one span "${name}" in ${spans.map((s) => s.name)}`);
  return found[0]!;
}

natsTest(
  "Requester → worker → reply over NATS yields send, process and ack spans, linked",
  async () => {
    await using otel = installOtel();
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    await using worker = await jobsWorker(transport, {
      handler: async (event, publisher) => {
        await publisher.reply({ done: event.payload });
      },
    });
    const requester = new Requester({
      transport,
      responseNames: ["job.run.response"],
      timeout: 10_000,
    });
    try {
      assert.deepEqual(await requester.request("job.run.request", 7), { done: 7 });
      await until(() => otel.spans().some((span) => span.name === "ack job.run.request"), 10_000);
    } finally {
      await requester.close();
      await worker.stop();
    }
    const spans = otel.spans();
    const send = named(spans, "send job.run.request");
    const process = named(spans, "process job.run.request");
    const reply = named(spans, "send job.run.response");
    const ack = named(spans, "ack job.run.request");
    const id = process.attributes["messaging.message.id"];
    const correlationId = send.attributes["messaging.message.conversation_id"];
    assert.equal(typeof id, "string");
    assert.equal(typeof correlationId, "string");

    assert.equal(send.kind, SpanKind.PRODUCER);
    assert.equal(send.attributes["messaging.system"], "nats");
    assert.equal(send.attributes["messaging.operation.type"], "send");
    assert.equal(send.attributes["messaging.destination.name"], "job.run.request");
    assert.equal(send.attributes["messaging.message.id"], id);

    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.deepEqual(
      [
        process.attributes["messaging.system"],
        process.attributes["messaging.operation.type"],
        process.attributes["messaging.destination.name"],
        process.attributes["messaging.message.conversation_id"],
        process.attributes["messaging.consumer.group.name"],
        process.attributes["messaging.client.id"],
      ],
      ["nats", "process", "job.run.request", correlationId, "jobs", "jobs-1"],
    );
    assert.equal(process.links[0]?.context.spanId, send.spanContext().spanId, "linked to the send");
    assert.notEqual(process.spanContext().traceId, send.spanContext().traceId);

    assert.equal(reply.attributes["messaging.system"], "nats");
    assert.equal(reply.parentSpanContext?.spanId, process.spanContext().spanId);
    assert.equal(reply.links[0]?.context.spanId, send.spanContext().spanId, "the reply links back");

    assert.equal(ack.kind, SpanKind.CLIENT);
    assert.deepEqual(ack.attributes, {
      "messaging.system": "nats",
      "messaging.operation.type": "settle",
      "messaging.operation.name": "ack",
      "messaging.destination.name": "job.run.request",
      "messaging.message.id": id,
      "messaging.message.conversation_id": correlationId,
      "messaging.consumer.group.name": "jobs",
      "messaging.client.id": "jobs-1",
    });
    assert.equal(ack.links[0]?.context.spanId, send.spanContext().spanId);
  },
);

natsTest("runWorker() on NATS traces a retry as nak and a failure for good as term", async () => {
  await using otel = installOtel();
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url });
  let calls = 0;
  await using worker = await jobsWorker(transport, {
    retry: { attempts: 3, delay: 10, backoff: "fixed" },
    deadLetter: false,
    handler: (event) => {
      calls++;
      if (event.payload === "flaky" && calls === 1) throw new Error("once");
      if (event.payload === "broken") throw new NonRetryableError("never", { code: "broken" });
    },
  });
  try {
    await transport.publish({ name: "job.run.request", payload: "flaky" });
    await until(() => transport.stats.acked === 1, 10_000, "the flaky event acked");
    await transport.publish({ name: "job.run.request", payload: "broken" });
    await until(() => transport.stats.terminated === 1, 10_000, "the broken event terminated");
  } finally {
    await worker.stop();
  }
  const settles = otel.spans().filter((span) =>
    span.attributes["messaging.operation.type"] === "settle"
  );
  assert.deepEqual(
    settles.map((span) => [span.name, span.attributes["messaging.operation.name"]]),
    [
      ["nak job.run.request", "nak"],
      ["ack job.run.request", "ack"],
      ["term job.run.request", "term"],
    ],
  );
  assert.ok(settles.every((span) => span.attributes["messaging.system"] === "nats"));
});
