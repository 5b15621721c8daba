/**
 * redrive() publishes through the traced send path, as a worker's
 * publisher does: with an SDK installed, each re-published event is a
 * `send` span whose context it carries in `metadata.traceparent`, linked
 * to the dead letter's send span and to the original producer's. Against
 * the reference server on loopback, with a real worker dead-lettering.
 */
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { ListenerReadiness, NonRetryableError, redrive, runWorker, WorkerStats } from "../mod.ts";
import { sendTraced } from "../src/tracing/send.ts";
import { installOtel } from "./_otel.ts";
import { until } from "./_poll.ts";
import { retained, startServer } from "./_server.ts";

const NAME = "job.run.request";
const DEAD = `${NAME}.dead-letter`;

/** The W3C `traceparent` of a sampled span. */
function traceparentOf(span: { spanContext(): { traceId: string; spanId: string } }): string {
  return `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
}

Deno.test("redrive() sends each event in a send span linked to its dead letter and its producer", async () => {
  await using server = await startServer();
  await using otel = installOtel();
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const stats = new WorkerStats();
  const worker = runWorker({
    transport: server.client,
    names: [NAME],
    delivery: "unicast",
    group: "jobs",
    readiness,
    stats,
    signal: controller.signal,
    handler: () => {
      throw new NonRetryableError("dependency missing", { code: "unavailable" });
    },
  });
  await readiness.waitReady();
  await sendTraced(server.client, {
    name: NAME,
    correlationId: "r1",
    metadata: { tenant: "acme" },
    payload: { job: 1 },
  });
  await until(() => stats.deadLettered === 1, 5_000, "dead-lettered");
  controller.abort();
  await worker;

  const sends = () => otel.spans().filter((span) => span.kind === SpanKind.PRODUCER);
  const original = sends().find((span) => span.name === `send ${NAME}`)!;
  const deadLetter = sends().find((span) => span.name === `send ${DEAD}`)!;
  assert.ok(original !== undefined && deadLetter !== undefined);

  const result = await redrive({ transport: server.client, from: DEAD });
  assert.equal(result.redriven, 1);
  const redriven = sends().filter((span) => span.name === `send ${NAME}`);
  assert.equal(redriven.length, 2, "the original's send span and the redrive's");
  const span = redriven[1]!;
  assert.equal(span.attributes["messaging.destination.name"], NAME);
  assert.equal(span.attributes["messaging.message.conversation_id"], "r1");
  assert.deepEqual(
    span.links.map((link) => link.context.spanId),
    [deadLetter.spanContext().spanId, original.spanContext().spanId],
  );
  const [, again] = await retained(server, NAME);
  assert.equal(again!.metadata?.traceparent, traceparentOf(span), "its consumer links to it");
  assert.equal(again!.metadata?.tenant, "acme", "the rest of the metadata goes back as it was");
  assert.equal(span.attributes["messaging.message.id"], again!.id);
});
