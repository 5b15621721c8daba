/**
 * `send <event name>` PRODUCER spans and the client metrics around every
 * publish: requests, replies, free events, dead letters and redriven
 * events all go out through {@linkcode sendTraced}. A publish straight
 * through a transport (`EventsClient.publish()`) is not traced: the
 * transport is the seam below it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { context, type Link, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { EventEnvelope } from "../envelope.ts";
import type { EventTransport, PublishOptions, PublishResult } from "../transport.ts";
import { withTraceContext } from "./carrier.ts";
import { telemetryLive } from "./live.ts";
import {
  ATTR,
  DURATION_BUCKETS,
  errorType,
  instrumentsFor,
  systemOf,
  tracer,
} from "./conventions.ts";

const instruments = instrumentsFor((meter) => ({
  duration: meter.createHistogram("messaging.client.operation.duration", {
    unit: "s",
    description: "Duration of publish (send) operations",
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  }),
  // The conventions count every message the producer attempted to send,
  // the failed ones with `error.type`: a failure rate is then `error.type`'s
  // share of this one counter.
  sent: meter.createCounter("messaging.client.sent.messages", {
    unit: "{message}",
    description: "Messages the client attempted to send",
  }),
}));

/**
 * Publishes `event` through `transport` inside a `send <name>` span (a
 * child of the active context), with the span's trace context added to
 * `metadata` so the consumer can link to it. `links` lets a reply link to
 * its request. Each call counts one `messaging.client.sent.messages`
 * and one `messaging.client.operation.duration`, a failed one with
 * `error.type`.
 */
export function sendTraced(
  transport: EventTransport,
  event: EventEnvelope,
  options?: PublishOptions,
  links?: Link[],
): Promise<PublishResult> {
  // Without any SDK part the span, instruments and trace context are all
  // no-ops: publish straight away (asked per call, so an SDK registered
  // later is picked up).
  if (telemetryLive()) return sendWithSpan(transport, event, options, links);
  try {
    return transport.publish(event, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function sendWithSpan(
  transport: EventTransport,
  event: EventEnvelope,
  options: PublishOptions | undefined,
  links: Link[] | undefined,
): Promise<PublishResult> {
  const system = systemOf(transport);
  const attributes = {
    [ATTR.system]: system,
    [ATTR.operationType]: "send",
    [ATTR.operationName]: "send",
    [ATTR.destination]: event.name,
  };
  const span = tracer().startSpan(`send ${event.name}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      ...attributes,
      ...(event.correlationId === undefined ? {} : { [ATTR.conversationId]: event.correlationId }),
    },
    ...(links === undefined || links.length === 0 ? {} : { links }),
  });
  const metadata = withTraceContext(trace.setSpan(context.active(), span), event.metadata);
  const started = performance.now();
  const { duration, sent } = instruments();
  try {
    const result = await transport.publish(
      metadata === event.metadata ? event : { ...event, metadata },
      // The span records the message id, so it is read even when not wanted.
      options?.discardId === true ? { ...options, discardId: false } : options,
    );
    if (result.id !== undefined) span.setAttribute(ATTR.messageId, result.id);
    sent.add(1, attributes);
    duration.record((performance.now() - started) / 1000, attributes);
    return result;
  } catch (error) {
    const type = errorType(error);
    span.setAttribute(ATTR.errorType, type);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: String((error as Error)?.message ?? error),
    });
    const failed = { ...attributes, [ATTR.errorType]: type };
    sent.add(1, failed);
    duration.record((performance.now() - started) / 1000, failed);
    throw error;
  } finally {
    span.end();
  }
}
