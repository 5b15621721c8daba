/**
 * An OpenTelemetry SDK for one test: an in-memory span exporter, the W3C
 * propagator, an AsyncLocalStorage context manager and a metric reader,
 * registered globally and removed again at the end of a `using` block.
 *
 * @module
 */

import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";

/** The installed SDK. */
export interface TestOtel extends AsyncDisposable {
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** Collected metric data points by instrument name (sums and histogram counts). */
  metrics(): Promise<Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>>;
}

/** Registers the SDK globally; see the module doc. */
export function installOtel(): TestOtel {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    spans: () => exporter.getFinishedSpans(),
    async metrics() {
      const { resourceMetrics } = await reader.collect();
      const found = new Map<
        string,
        Array<{ attributes: Record<string, unknown>; value: unknown }>
      >();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          found.set(
            metric.descriptor.name,
            metric.dataPoints.map((point) => ({
              attributes: point.attributes,
              value: point.value,
            })),
          );
        }
      }
      return found;
    },
    async [Symbol.asyncDispose]() {
      await provider.shutdown();
      await meterProvider.shutdown();
      contextManager.disable();
      trace.disable();
      context.disable();
      propagation.disable();
      metrics.disable();
    },
  };
}
