/**
 * The OpenTelemetry messaging semantic conventions this library follows:
 * attribute names, operation types, and the tracer and meter it reports
 * through. `@opentelemetry/api` is a no-op until the application installs
 * an SDK (or runs Deno with `OTEL_DENO=true`).
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  type Meter,
  type MeterProvider,
  metrics,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";

/** The instrumentation scope name of every span and instrument. */
export const INSTRUMENTATION_SCOPE = "@bus/integration";

/** Attribute names of the messaging conventions (and `error.type`). */
export const ATTR = {
  system: "messaging.system",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  destination: "messaging.destination.name",
  messageId: "messaging.message.id",
  conversationId: "messaging.message.conversation_id",
  consumerGroup: "messaging.consumer.group.name",
  clientId: "messaging.client.id",
  errorType: "error.type",
} as const;

let tracerProvider: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;

/**
 * The tracer every span of the library comes from, for the global tracer
 * provider of now: taken again when the provider changes (tests register
 * and disable SDKs; a tracer kept across that would report to the old one).
 */
export function tracer(): Tracer {
  const current = trace.getTracerProvider();
  if (cachedTracer === undefined || current !== tracerProvider) {
    tracerProvider = current;
    cachedTracer = current.getTracer(INSTRUMENTATION_SCOPE);
  }
  return cachedTracer;
}

/**
 * The `messaging.system` of a transport: `bus` for the HTTP Events API,
 * `nats` for JetStream, or what the transport says.
 */
export function systemOf(transport: { readonly system?: string | undefined }): string {
  return transport.system ?? "bus";
}

/**
 * `error.type` of a failure: its `code` when it has a string one (the
 * library's errors do), else its class name.
 */
export function errorType(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    if (error instanceof Error) return error.name;
  }
  return "_OTHER";
}

/**
 * Instruments built for the meter provider registered now. The metrics API
 * has no proxy provider: a meter taken before the application registers
 * its SDK stays a no-op, so instruments are rebuilt when the global
 * provider changes (one comparison per use otherwise).
 */
export function instrumentsFor<T>(build: (meter: Meter) => T): () => T {
  let provider: MeterProvider | undefined;
  let built: T | undefined;
  return () => {
    const current = metrics.getMeterProvider();
    if (built === undefined || current !== provider) {
      provider = current;
      built = build(current.getMeter(INSTRUMENTATION_SCOPE));
    }
    return built;
  };
}

/** Advisory histogram buckets for messaging durations, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
];
