/**
 * Counting what the handler pipeline did, for health reports and tests.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { describeError } from "../errors.ts";
import type { HandlerMiddleware } from "./compose.ts";

/** Live counters of a worker. */
export class WorkerStats {
  /** Handlers that returned. */
  handled = 0;
  /** Handlers that threw. */
  failed = 0;
  /** Malformed lines or events skipped. */
  invalid = 0;
  /** Handlers running now. */
  inFlight = 0;
  /** Most handlers that ran at the same moment. */
  maxInFlight = 0;
  /** The last handler or listener failure, for health reports. */
  lastError: string | undefined = undefined;
}

/**
 * The outermost middleware: counts every event into `stats` (in flight
 * while the rest runs, then handled or failed with its error) and passes
 * the outcome on unchanged.
 */
export function countOutcomes(stats: WorkerStats): HandlerMiddleware {
  return async (_event, _context, next) => {
    stats.inFlight++;
    if (stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;
    try {
      await next();
      stats.handled++;
    } catch (error) {
      stats.failed++;
      stats.lastError = describeError(error);
      throw error;
    } finally {
      stats.inFlight--;
    }
  };
}
