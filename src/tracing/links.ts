/**
 * Span links to the producer of an event, read from its `metadata`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { isSpanContextValid, type Link, trace } from "@opentelemetry/api";
import { traceContextOf } from "./carrier.ts";

/**
 * A link to the producer's span when `metadata` carries a valid trace
 * context (a `traceparent`), else none: how a process span links to the
 * send span that produced its event, and a reply to its request.
 */
export function producerLinks(metadata: Record<string, string> | undefined): Link[] {
  if (metadata?.traceparent === undefined) return [];
  const producer = trace.getSpanContext(traceContextOf(metadata));
  return producer !== undefined && isSpanContextValid(producer) ? [{ context: producer }] : [];
}
