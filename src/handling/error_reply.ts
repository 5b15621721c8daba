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
import { ResponseError } from "../errors.ts";
import type { HandlerMiddleware } from "./compose.ts";

/** The error code a failed handler is answered with, unless it threw a `ResponseError`. */
export const HANDLER_FAILED = "handler_failed";

const logger = getLogger(["bus-integration", "worker"]);

/**
 * Publishes the error response of a failed request (`ResponseError`'s own
 * code, else {@linkcode HANDLER_FAILED}) and rethrows the failure, so outer
 * middlewares still see it. A failure to publish the answer is logged only.
 */
export const replyOnFailure: HandlerMiddleware = async (event, context, next) => {
  try {
    await next();
  } catch (error) {
    if (event.correlationId !== undefined) {
      const { code, message } = error instanceof ResponseError
        ? error
        : { code: HANDLER_FAILED, message: error instanceof Error ? error.message : String(error) };
      try {
        await context.publisher.replyError(code, message);
      } catch (replyFailure) {
        logger.error("Cannot publish the error response for {correlationId}: {error}", {
          correlationId: event.correlationId,
          error: replyFailure,
        });
      }
    }
    throw error;
  }
};
