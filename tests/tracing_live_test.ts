/**
 * `telemetryLive()` and the worker's choice of pipeline: the process span is skipped
 * only while no SDK part (tracer provider, meter provider, propagator) is
 * registered, and picked up again by a running worker once one is.
 */
import assert from "node:assert/strict";
import { metrics, propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { telemetryLive } from "../src/tracing/live.ts";
import { TELEMETRY_RECHECK } from "../src/worker.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { installOtel } from "./_otel.ts";
import { until } from "./_poll.ts";
import { startWorker } from "./_worker_run.ts";

Deno.test("telemetryLive() is false without an SDK and true with any part of one", async () => {
  assert.equal(telemetryLive(), false);
  {
    await using _otel = installOtel();
    assert.equal(telemetryLive(), true);
  }
  assert.equal(telemetryLive(), false, "false again once the SDK is disabled");
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  try {
    assert.equal(telemetryLive(), true, "a propagator alone carries trace context");
  } finally {
    propagation.disable();
  }
  const meters = new MeterProvider();
  metrics.setGlobalMeterProvider(meters);
  try {
    assert.equal(telemetryLive(), true, "a meter provider alone records the process metrics");
  } finally {
    metrics.disable();
    await meters.shutdown();
  }
  assert.equal(telemetryLive(), false);
});

Deno.test("runWorker() starts process spans once an SDK is registered after it started", async () => {
  const transport = new MemoryTransport();
  const worker = startWorker({ transport, names: ["job.run.request"], handler: () => {} });
  try {
    await until(() => transport.openCount === 1);
    await transport.publish({ name: "job.run.request" });
    await until(() => transport.settlements.length === 1);
    await using otel = installOtel();
    // The worker asks whether an SDK is registered every TELEMETRY_RECHECK events.
    for (let n = 0; n < TELEMETRY_RECHECK; n++) {
      await transport.publish({ name: "job.run.request" });
    }
    await until(() => transport.settlements.length === 1 + TELEMETRY_RECHECK);
    const spans = otel.spans();
    assert.equal(spans.length, 1, "the first event after the recheck, and every one after it");
    assert.equal(spans[0]!.name, "process job.run.request");
    assert.equal(spans[0]!.attributes["messaging.message.id"], String(1 + TELEMETRY_RECHECK));
  } finally {
    await worker.stop();
  }
});
