/**
 * Tracing and metrics through `@opentelemetry/api`: `send` spans around
 * publishes, the `process` span around the pipeline, the trace context in
 * `metadata`, links between them, and the standard instruments.
 */
import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { traceProcessing } from "../src/handling/tracing.ts";
import { EventPublisher } from "../src/publisher.ts";
import { sendTraced } from "../src/tracing/send.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { installOtel } from "./_otel.ts";

function handlerContext(transport: MemoryTransport, event: { name: string }): HandlerContext {
  const signal = new AbortController().signal;
  return {
    publisher: new EventPublisher(transport, event, signal, "worker-1"),
    signal,
    attempt: 1,
    settlement: undefined,
  };
}

Deno.test("sendTraced() wraps a publish in a send span and puts its context in metadata", async () => {
  await using otel = installOtel();
  const transport = new MemoryTransport();
  await sendTraced(transport, {
    name: "job.run.request",
    correlationId: "c1",
    metadata: { a: "1" },
  });
  const [span] = otel.spans();
  assert.equal(span!.name, "send job.run.request");
  assert.equal(span!.kind, SpanKind.PRODUCER);
  assert.deepEqual(span!.attributes, {
    "messaging.system": "bus",
    "messaging.operation.type": "send",
    "messaging.operation.name": "send",
    "messaging.destination.name": "job.run.request",
    "messaging.message.conversation_id": "c1",
    "messaging.message.id": "1",
  });
  const sent = transport.published[0]!;
  assert.equal(sent.metadata?.a, "1", "the caller's metadata is kept");
  assert.equal(
    sent.metadata?.traceparent,
    `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`,
  );
  const points = await otel.metrics();
  assert.equal(points.get("messaging.client.sent.messages")?.[0]?.value, 1);
  assert.ok(points.has("messaging.client.operation.duration"));
});

Deno.test("sendTraced() marks a failed publish with error.type and rethrows", async () => {
  await using otel = installOtel();
  const transport = new MemoryTransport();
  await assert.rejects(sendTraced(transport, { name: "Bad Name" }), TypeError);
  const [span] = otel.spans();
  assert.equal(span!.status.code, SpanStatusCode.ERROR);
  assert.equal(span!.attributes["error.type"], "TypeError");
});

Deno.test("traceProcessing() links the process span to the producer and parents the reply", async () => {
  await using otel = installOtel();
  const transport = new MemoryTransport();
  await sendTraced(transport, { name: "job.run.request", correlationId: "c1" });
  const request = transport.published[0]!;
  const pipeline = compose(
    [traceProcessing({ system: "bus", group: "jobs", consumer: "jobs-1" })],
    (_event, context) => context.publisher.reply({ ok: true }),
  );
  await pipeline(request, handlerContext(transport, request));
  const [send, reply, process] = otel.spans();
  assert.equal(process!.name, "process job.run.request");
  assert.equal(process!.kind, SpanKind.CONSUMER);
  assert.equal(process!.attributes["messaging.consumer.group.name"], "jobs");
  assert.equal(process!.attributes["messaging.client.id"], "jobs-1");
  assert.equal(process!.attributes["messaging.message.id"], "1");
  assert.equal(
    process!.links[0]?.context.spanId,
    send!.spanContext().spanId,
    "linked, not parented",
  );
  assert.notEqual(process!.spanContext().traceId, send!.spanContext().traceId);
  assert.equal(reply!.name, "send job.run.response");
  assert.equal(reply!.parentSpanContext?.spanId, process!.spanContext().spanId);
  assert.equal(
    reply!.links[0]?.context.spanId,
    send!.spanContext().spanId,
    "the reply links to its request",
  );
  const points = await otel.metrics();
  assert.equal(points.get("messaging.client.consumed.messages")?.[0]?.value, 1);
  assert.ok(points.has("messaging.process.duration"));
});

Deno.test("traceProcessing() with producer: parent continues the producer's trace", async () => {
  await using otel = installOtel();
  const transport = new MemoryTransport();
  await sendTraced(transport, { name: "job.run.request" });
  const request = transport.published[0]!;
  const failure = new Error("boom");
  const pipeline = compose([traceProcessing({ system: "nats", producer: "parent" })], () => {
    throw failure;
  });
  await assert.rejects(pipeline(request, handlerContext(transport, request)), (e) => e === failure);
  const [send, process] = otel.spans();
  assert.equal(process!.spanContext().traceId, send!.spanContext().traceId);
  assert.equal(process!.parentSpanContext?.spanId, send!.spanContext().spanId);
  assert.equal(process!.attributes["messaging.system"], "nats");
  assert.equal(process!.attributes["error.type"], "Error");
  assert.equal(process!.status.code, SpanStatusCode.ERROR);
});

Deno.test("without an SDK nothing is recorded and metadata is left as it is", async () => {
  const transport = new MemoryTransport();
  const metadata = { a: "1" };
  await sendTraced(transport, { name: "job.run.request", metadata });
  assert.equal(transport.published[0]!.metadata, metadata, "the same object: nothing injected");
});
