/**
 * `settle` spans: one CLIENT span per acknowledgement a transport sends for
 * an event (JetStream's `ack`, `nak`, `term`), named `<operation> <event
 * name>` as the messaging conventions name settlement spans, linked to the
 * producer's span like the `process` span.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type Attributes, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { EventEnvelope } from "../envelope.ts";
import { ATTR, errorType, tracer } from "./conventions.ts";
import { producerLinks } from "./links.ts";

/** Who settles: the attributes every settle span of one subscription shares. */
export interface SettleSpanOptions {
  /** `messaging.system`, e.g. `nats`. */
  system: string;
  /** `messaging.consumer.group.name`: the unicast group. */
  group?: string | undefined;
  /** `messaging.client.id`: the consumer name. */
  consumer?: string | undefined;
}

/**
 * The settle-span tracer of one subscription: `traced(operation, event,
 * work)` runs `work` (the acknowledgement) inside a span and resolves or
 * rejects as it does.
 */
export function settleSpans(
  options: SettleSpanOptions,
): <T>(operation: string, event: EventEnvelope, work: () => T | Promise<T>) => Promise<T> {
  const base: Attributes = {
    [ATTR.system]: options.system,
    [ATTR.operationType]: "settle",
    ...(options.group === undefined ? {} : { [ATTR.consumerGroup]: options.group }),
    ...(options.consumer === undefined ? {} : { [ATTR.clientId]: options.consumer }),
  };
  return async (operation, event, work) => {
    const links = producerLinks(event.metadata);
    const span = tracer().startSpan(`${operation} ${event.name}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        ...base,
        [ATTR.operationName]: operation,
        [ATTR.destination]: event.name,
        ...(event.id === undefined ? {} : { [ATTR.messageId]: event.id }),
        ...(event.correlationId === undefined
          ? {}
          : { [ATTR.conversationId]: event.correlationId }),
      },
      ...(links.length === 0 ? {} : { links }),
    });
    try {
      return await work();
    } catch (error) {
      span.setAttribute(ATTR.errorType, errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  };
}
