/**
 * Schema validation in the handler pipeline: the innermost step, between
 * the caller's middlewares and the handler. It checks each event's payload
 * against the worker's payload schema before the handler runs, and each
 * `publisher.reply()` against its reply schema before it is published.
 *
 * A mismatch throws a `NonRetryableError` with a code, so the outer
 * middlewares that exist already do the rest: the retry policy never
 * retries it, the requester gets the error response, the event is
 * dead-lettered, and the failure is counted and logged.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { EventEnvelope } from "../envelope.ts";
import { NonRetryableError } from "../errors.ts";
import type { Publisher, PublishInit } from "../publisher.ts";
import { describeIssues, type EventSchemas, type StandardSchema, validateThen } from "../schema.ts";
import type { PublishResult } from "../transport.ts";
import type { PipelineHandler } from "./compose.ts";

/** The error code of the response to an event whose payload does not match the payload schema. */
export const INVALID_PAYLOAD = "invalid_payload";
/** The error code of the response a requester gets when the worker's reply does not match its reply schema. */
export const INVALID_REPLY = "invalid_reply";

/** A worker's handler as the pipeline calls it: any payload, any reply. */
export type EventHandler = (event: EventEnvelope, publisher: Publisher) => unknown;

const logger = getLogger(["bus-integration", "worker"]);

/**
 * The pipeline's innermost step: `handler`, behind `schemas`. Without a
 * payload schema the handler gets the event as it came; with one, a copy
 * whose `payload` is the schema's output (the envelope itself, which a dead
 * letter keeps, is never changed). An event that does not match throws a
 * `NonRetryableError` coded {@linkcode INVALID_PAYLOAD} and the handler
 * does not run. A synchronous schema is run without an `await`; an async
 * one is awaited. A schema that throws fails the attempt like a handler
 * that throws (retried per the policy): that is a bug, not a bad payload.
 *
 * With a reply schema the handler's publisher checks every `reply()` (see
 * {@linkcode checkedReplies}).
 *
 * @param schemas The worker's checked `schema` option.
 * @param handler The worker's handler.
 */
export function validatedHandler(
  schemas: EventSchemas | undefined,
  handler: EventHandler,
): PipelineHandler {
  const { payload, reply } = schemas ?? {};
  if (payload === undefined && reply === undefined) {
    return (event, context) => handler(event, context.publisher);
  }
  const publisherOf = reply === undefined
    ? (publisher: Publisher) => publisher
    : (publisher: Publisher) => checkedReplies(publisher, reply);
  if (payload === undefined) {
    return (event, context) => handler(event, publisherOf(context.publisher));
  }
  return (event, context) =>
    validateThen(payload, event.payload, (result) => {
      if (result.issues) {
        throw new NonRetryableError(
          `Cannot handle ${event.name}: the payload does not match the schema: ${
            describeIssues(result.issues, "payload")
          }`,
          { code: INVALID_PAYLOAD },
        );
      }
      return handler({ ...event, payload: result.value }, publisherOf(context.publisher));
    });
}

/**
 * `publisher` with every `reply()` checked against `schema` first: a reply
 * that matches is published as the schema's output; one that does not is
 * not published, is logged at error level as a bug in the worker (the
 * event and the issues), and rejects with a `NonRetryableError` coded
 * {@linkcode INVALID_REPLY} — which, once the handler lets it propagate,
 * answers the requester with that code and dead-letters the event.
 * `publish()` and `replyError()` pass through unchecked.
 *
 * @param publisher The publisher to wrap.
 * @param schema The checked reply schema.
 */
export function checkedReplies(publisher: Publisher, schema: StandardSchema): Publisher {
  return {
    get event() {
      return publisher.event;
    },
    get signal() {
      return publisher.signal;
    },
    publish: (name: string, payload: unknown, init?: PublishInit) =>
      publisher.publish(name, payload, init),
    replyError: (code: string, message: string, init?: PublishInit) =>
      publisher.replyError(code, message, init),
    reply: async (payload: unknown, init?: PublishInit): Promise<PublishResult> => {
      const result = await validateThen(schema, payload, (checked) => checked);
      if (result.issues) {
        const event = publisher.event;
        const issues = describeIssues(result.issues, "reply");
        logger.error(
          "Bug in the worker: its reply to {name} {id} does not match the reply schema and was not published: {issues}",
          { name: event.name, id: event.id, correlationId: event.correlationId, issues },
        );
        throw new NonRetryableError(
          `Cannot reply to ${event.name}: the reply does not match the schema: ${issues}`,
          { code: INVALID_REPLY },
        );
      }
      return await publisher.reply(result.value, init);
    },
  };
}
