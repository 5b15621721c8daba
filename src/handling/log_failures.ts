/**
 * Logging a failed handler with the event that made it fail.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { HandlerMiddleware } from "./compose.ts";

const logger = getLogger(["bus-integration", "worker"]);

/** Logs every failure of the inner pipeline at error level and rethrows it. */
export const logFailures: HandlerMiddleware = async (event, _context, next) => {
  try {
    await next();
  } catch (error) {
    logger.error("Handler failed on {name} {id}: {error}", {
      name: event.name,
      id: event.id,
      correlationId: event.correlationId,
      error,
    });
    throw error;
  }
};
