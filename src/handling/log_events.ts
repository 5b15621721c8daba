/**
 * The worker's debug lines: one per handled event (name, id, correlation
 * id, duration, outcome) and one per settlement (done, retry, dead).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { EventEnvelope } from "../envelope.ts";
import type { Settlement } from "../transport.ts";

const logger = getLogger(["bus-integration", "worker"]);

/** What a handled event ended as, by its settlement. */
const OUTCOMES = { done: "ok", retry: "failed, will retry", dead: "failed" } as const;

/** Writes the per-event debug lines of one worker. */
export interface EventLog {
  /** When handling started, for {@linkcode EventLog.handled}'s duration. */
  start(): number;
  /** One line for an event the pipeline finished with, before it is settled. */
  handled(event: EventEnvelope, started: number, settlement: Settlement): void;
  /** One line once the transport was told how the event ended. */
  settled(event: EventEnvelope, settlement: Settlement): void;
}

/**
 * The per-event debug lines, or `undefined` when debug records of the
 * `bus-integration.worker` category would be dropped. A worker asks once,
 * when it starts: with debug off an event then costs one comparison, no
 * record and no properties object; logging configured to debug after a
 * worker started applies to workers started after it.
 */
export function eventLog(): EventLog | undefined {
  if (!logger.isEnabledFor("debug")) return undefined;
  return {
    start: () => performance.now(),
    handled(event, started, settlement) {
      logger.debug("Handled {name} {id} in {durationMs} ms: {outcome}", {
        name: event.name,
        id: event.id,
        correlationId: event.correlationId,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        outcome: OUTCOMES[settlement.type],
      });
    },
    settled(event, settlement) {
      logger.debug("Settled {name} {id}: {settlement}", {
        name: event.name,
        id: event.id,
        correlationId: event.correlationId,
        settlement: settlement.type,
        ...(settlement.type === "retry" ? { delay: settlement.delay } : {}),
        ...(settlement.type === "dead" ? { reason: settlement.reason } : {}),
      });
    },
  };
}
