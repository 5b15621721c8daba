/**
 * Trace context in an envelope's `metadata` (`traceparent`, `tracestate`),
 * written and read through the global propagator (W3C Trace Context once
 * an SDK registers it).
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  type Context,
  context,
  propagation,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";

type Metadata = Record<string, string>;

const getter: TextMapGetter<Metadata | undefined> = {
  get: (carrier, key) => carrier?.[key],
  keys: (carrier) => carrier === undefined ? [] : Object.keys(carrier),
};

const setter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * `metadata` with the trace context of `current` added, as a new object;
 * `metadata` itself when the propagator wrote nothing (no SDK).
 */
export function withTraceContext(
  current: Context,
  metadata: Metadata | undefined,
): Metadata | undefined {
  const written: Metadata = {};
  propagation.inject(current, written, setter);
  for (const _ in written) return { ...metadata, ...written };
  return metadata;
}

/** The producer's context carried in `metadata`, on top of the active one. */
export function traceContextOf(metadata: Metadata | undefined): Context {
  return propagation.extract(context.active(), metadata, getter);
}
