/**
 * Whether anything would observe the library's telemetry now: an SDK's
 * tracer provider, meter provider or propagator registered with
 * `@opentelemetry/api` (Deno's `OTEL_DENO=true` registers all three).
 * Without any, spans, instruments and trace context are no-ops, and the
 * work of building them can be skipped altogether.
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  createNoopMeter,
  metrics,
  propagation,
  ProxyTracerProvider,
  trace,
} from "@opentelemetry/api";
import { INSTRUMENTATION_SCOPE } from "./conventions.ts";

/** The API's no-op tracer provider: the delegate of a proxy nobody set one on. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

let meterProvider: unknown;
let meterLive = false;

/**
 * Whether an SDK is registered now, asked on every call (an application may
 * register its SDK after a worker started): a few global look-ups, no
 * allocation but the propagator's field list.
 */
export function telemetryLive(): boolean {
  const tracers = trace.getTracerProvider();
  if (!(tracers instanceof ProxyTracerProvider) || tracers.getDelegate() !== NOOP_TRACER_PROVIDER) {
    return true;
  }
  const meters = metrics.getMeterProvider();
  if (meters !== meterProvider) {
    meterProvider = meters;
    meterLive = meters.getMeter(INSTRUMENTATION_SCOPE) !== createNoopMeter();
  }
  return meterLive || propagation.fields().length > 0;
}
