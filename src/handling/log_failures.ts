/**
 * Logging a failed handler with the event that made it fail.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { OutcomeStep } from "./outcome_step.ts";

const logger = getLogger(["bus-integration", "worker"]);

/**
 * Logs every failure of the inner pipeline, which goes on outwards: an
 * attempt settled `retry` at warning level ("will retry in N ms, attempt k
 * of n"), a failure for good at error level.
 *
 * @param attempts The retry policy's attempts, shown as "of n".
 */
export function logFailuresOf(attempts: number): OutcomeStep {
  return {
    failed(error, event, context) {
      const where = { name: event.name, id: event.id, correlationId: event.correlationId };
      if (context.settlement?.type === "retry") {
        logger.warn(
          "Handler failed on {name} {id}, will retry in {delay} ms, attempt {attempt} of {attempts}: {error}",
          { ...where, delay: context.settlement.delay, attempt: context.attempt, attempts, error },
        );
      } else {
        logger.error("Handler failed on {name} {id}: {error}", { ...where, error });
      }
    },
  };
}

/** {@linkcode logFailuresOf} for a worker without retries. */
export const logFailures: OutcomeStep = logFailuresOf(1);
