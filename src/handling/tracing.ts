/**
 * The `process <event name>` CONSUMER span around each handled event, and
 * the consumer metrics. It runs outermost in the pipeline, so everything
 * the event causes — the handler, its replies, an error reply, a dead
 * letter — happens inside it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { type Redact, unchanged } from "../secrets.ts";
import { traceContextOf } from "../tracing/carrier.ts";
import { producerLinks } from "../tracing/links.ts";
import {
  ATTR,
  DURATION_BUCKETS,
  errorType,
  instrumentsFor,
  tracer,
} from "../tracing/conventions.ts";
import type { HandlerMiddleware } from "./compose.ts";

/** Options of {@linkcode traceProcessing}. */
export interface ProcessTracingOptions {
  /** `messaging.system`: `bus` (HTTP Events API) or `nats`. */
  system: string;
  /** `messaging.consumer.group.name`: the unicast group. */
  group?: string | undefined;
  /** `messaging.client.id`: the consumer name. */
  consumer?: string | undefined;
  /**
   * How the process span relates to the producer's span: `link` (the
   * messaging conventions' default: its own trace, linked) or `parent` (one
   * trace from request to reply).
   *
   * @default {"link"}
   */
  producer?: "link" | "parent" | undefined;
  /**
   * Removes known secrets from the error message a failed span's status
   * carries (spans are exported to a tracing backend).
   */
  redact?: Redact | undefined;
}

const instruments = instrumentsFor((meter) => ({
  duration: meter.createHistogram("messaging.process.duration", {
    unit: "s",
    description: "Duration of processing one event, every middleware and the handler",
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  }),
  consumed: meter.createCounter("messaging.client.consumed.messages", {
    unit: "{message}",
    description: "Events handed to the handler pipeline",
  }),
}));

/** The tracing middleware; see the module doc. */
export function traceProcessing(options: ProcessTracingOptions): HandlerMiddleware {
  const base = {
    [ATTR.system]: options.system,
    [ATTR.operationType]: "process",
    [ATTR.operationName]: "process",
    ...(options.group === undefined ? {} : { [ATTR.consumerGroup]: options.group }),
    ...(options.consumer === undefined ? {} : { [ATTR.clientId]: options.consumer }),
  };
  const asParent = options.producer === "parent";
  const redact = options.redact ?? unchanged;
  return async (event, context, next) => {
    const attributes = { ...base, [ATTR.destination]: event.name };
    const parent = asParent ? traceContextOf(event.metadata) : otelContext.active();
    const links = asParent ? [] : producerLinks(event.metadata);
    const span = tracer().startSpan(`process ${event.name}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...attributes,
        ...(event.id === undefined ? {} : { [ATTR.messageId]: event.id }),
        ...(event.correlationId === undefined
          ? {}
          : { [ATTR.conversationId]: event.correlationId }),
        "bus.attempt": context.attempt,
      },
      ...(links.length === 0 ? {} : { links }),
    }, parent);
    const started = performance.now();
    const { duration, consumed } = instruments();
    // A worker giving up a retry at its stop (the settlement already set)
    // runs the pipeline without an attempt: nothing was consumed again.
    if (context.settlement === undefined) consumed.add(1, attributes);
    try {
      await otelContext.with(trace.setSpan(parent, span), next);
      duration.record((performance.now() - started) / 1000, attributes);
    } catch (error) {
      const type = errorType(error);
      span.setAttribute(ATTR.errorType, type);
      const message = (error as Error)?.message;
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: typeof message === "string" ? redact(message) : message,
      });
      duration.record((performance.now() - started) / 1000, {
        ...attributes,
        [ATTR.errorType]: type,
      });
      throw error;
    } finally {
      if (context.settlement !== undefined) {
        span.setAttribute("bus.settlement", context.settlement.type);
      }
      span.end();
    }
  };
}
