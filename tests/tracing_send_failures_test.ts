/**
 * `messaging.client.sent.messages` counts every message the producer
 * attempted to send, as the OpenTelemetry messaging conventions define it:
 * a publish the loopback reference server refused counts too, with
 * `error.type` (conditionally required "if and only if the messaging
 * operation has failed"), beside the one that succeeded.
 */
import assert from "node:assert/strict";
import { sendTraced } from "../src/tracing/send.ts";
import { installOtel } from "./_otel.ts";
import { startServer } from "./_server.ts";

Deno.test("sendTraced() counts a failed publish in messaging.client.sent.messages with error.type", async () => {
  await using server = await startServer();
  await using otel = installOtel();
  await sendTraced(server.client, { name: "job.run.request", payload: { n: 1 } });
  server.api.faults.failNext("publish", { status: 503 });
  const failure = await sendTraced(server.client, { name: "job.run.request", payload: { n: 2 } })
    .then(() => undefined, (error: unknown) => error);
  assert.ok(failure instanceof Error, "the refused publish rejects");

  const failedSpan = otel.spans().find((span) => span.attributes["error.type"] !== undefined);
  const type = failedSpan?.attributes["error.type"];
  assert.equal(typeof type, "string");
  const points = (await otel.metrics()).get("messaging.client.sent.messages") ?? [];
  const base = {
    "messaging.system": "bus",
    "messaging.operation.type": "send",
    "messaging.operation.name": "send",
    "messaging.destination.name": "job.run.request",
  };
  assert.deepEqual(
    points.map((point) => point.attributes).sort((a, b) =>
      Object.keys(a).length - Object.keys(b).length
    ),
    [base, { ...base, "error.type": type }],
  );
  for (const point of points) assert.equal(point.value, 1);
  // The duration histogram has the same two series.
  const durations = (await otel.metrics()).get("messaging.client.operation.duration") ?? [];
  assert.equal(durations.length, 2);
});
