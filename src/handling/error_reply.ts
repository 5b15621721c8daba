/**
 * Answering a failed request: when the handler of an event with a
 * `correlationId` fails, its requester gets an error response instead of
 * waiting for its timeout.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { NonRetryableError, ResponseError, type ResponseErrorBody } from "../errors.ts";
import { type Redact, unchanged } from "../secrets.ts";
import type { OutcomeStep } from "./outcome_step.ts";

/**
 * The error code a failed handler is answered with, unless it threw a
 * `ResponseError` or a `NonRetryableError` with a code.
 */
export const HANDLER_FAILED = "handler_failed";

const logger = getLogger(["bus-integration", "worker"]);

/**
 * The `error` a failure is answered with: the `code` of a `ResponseError`,
 * or of a `NonRetryableError` that has one, else {@linkcode HANDLER_FAILED};
 * the error's message, with known secrets removed by `redact`.
 */
export function failureResponse(error: unknown, redact: Redact = unchanged): ResponseErrorBody {
  const message = redact(error instanceof Error ? error.message : String(error));
  if (error instanceof ResponseError) return { code: error.code, message };
  if (error instanceof NonRetryableError && error.code !== undefined) {
    return { code: error.code, message };
  }
  return { code: HANDLER_FAILED, message };
}

/**
 * Publishes the error response of a request that failed for good (see
 * {@linkcode failureResponse}); the failure goes on outwards, so outer
 * steps still see it. An attempt settled `retry` is not answered: the
 * requester waits for the attempt that ends it. A failure to publish the
 * answer is logged only. `redact` removes known secrets from the message:
 * a handler's error may quote a request, headers and all, and the answer
 * goes out on the bus.
 */
export function replyOnFailureWith(redact: Redact): OutcomeStep {
  return {
    async failed(error, event, context) {
      const correlationId = event.correlationId;
      if (correlationId === undefined || context.settlement?.type === "retry") return;
      const { code, message } = failureResponse(error, redact);
      try {
        // Nobody reads the error response's id: over HTTP its answer body goes unread.
        await context.publisher.replyError(code, message, { discardId: true });
      } catch (replyFailure) {
        logger.error("Cannot publish the error response for {correlationId}: {error}", {
          correlationId,
          error: replyFailure,
        });
      }
    },
  };
}

/** {@linkcode replyOnFailureWith} with no secrets to remove. */
export const replyOnFailure: OutcomeStep = replyOnFailureWith(unchanged);
