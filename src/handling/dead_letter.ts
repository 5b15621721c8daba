/**
 * Dead letters: an event that failed for good — retries exhausted, or a
 * failure that is not retryable — is published once more, whole, as the
 * payload of an event named `<event name>.dead-letter`, with the error and
 * the attempts, so that it can be inspected and redriven (`redrive()`)
 * instead of being lost.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { type EventEnvelope, eventNameProblem } from "../envelope.ts";
import { describeError } from "../errors.ts";
import type { HandlerContext } from "./context.ts";
import { failureResponse } from "./error_reply.ts";
import { type Redact, unchanged } from "../secrets.ts";
import type { OutcomeStep } from "./outcome_step.ts";
import type { WorkerStats } from "./stats.ts";

/** What the name of a dead letter adds to the name of its event. */
export const DEAD_LETTER_SUFFIX = ".dead-letter";

/** The `deadLetter` option of a worker or registration (`false` turns dead letters off). */
export interface DeadLetterOptions {
  /**
   * The name every dead letter of this worker is published under.
   *
   * @default {`${event.name}.dead-letter`}
   */
  name?: string | undefined;
  /** Whether the dead letter carries the error's stack. @default {false} */
  includeStack?: boolean | undefined;
}

/** The error a dead letter records. */
export interface DeadLetterError {
  /** The error's `name`, e.g. `NonRetryableError`. */
  name: string;
  /** The code the requester's error response carried (`handler_failed` unless the error had one). */
  code: string;
  /** The error's message. */
  message: string;
  /** The error's stack, only with `includeStack: true`. */
  stack?: string | undefined;
}

/** The payload of a dead letter. */
export interface DeadLetterPayload {
  /** The event that failed, whole: id, metadata and unknown fields included. */
  envelope: EventEnvelope;
  /** How many attempts ran. */
  attempts: number;
  /** Why it is dead: the settlement's reason (not retryable, attempts used up, worker stopped). */
  reason: string;
  /** The last attempt's error. */
  error: DeadLetterError;
  /**
   * When the first attempt started (ISO 8601). Where earlier attempts ran
   * in another process (a transport that redelivers), the first attempt
   * this worker ran.
   */
  firstAttemptAt: string;
  /** When the last attempt started (ISO 8601). */
  lastAttemptAt: string;
  /** The worker's `source`. */
  source?: string | undefined;
  /** The worker's consumer name. */
  consumer?: string | undefined;
  /** The worker's unicast group. */
  group?: string | undefined;
}

/** The metadata keys of the W3C trace context, copied onto each dead letter. */
const TRACE_CONTEXT = ["traceparent", "tracestate"] as const;

/** What the dead-letter middleware needs from the worker that runs it. */
export interface DeadLetterSetup {
  /** The worker's `deadLetter` option (not `false`). */
  options: DeadLetterOptions;
  /** Who the worker is, recorded in each dead letter. */
  worker: {
    source?: string | undefined;
    consumer?: string | undefined;
    group?: string | undefined;
  };
  /** Counts `deadLettered` and `deadLetterFailed`. */
  stats: WorkerStats;
  /**
   * The wait in ms before the transport redelivers an event whose dead
   * letter could not be published, or `undefined` where the transport does
   * not redeliver (the event is then lost, and logged as such).
   */
  redeliverAfter: number | undefined;
  /**
   * Removes known secrets from the error texts the dead letter carries (its
   * `reason`, the error's message and stack): a handler's error may quote a
   * request, headers and all, and dead letters are kept and read.
   */
  redact?: Redact | undefined;
}

const logger = getLogger(["bus-integration", "worker"]);

/**
 * The name of `event`'s dead letter under `options`.
 *
 * @example
 * ```ts
 * import { deadLetterNameFor } from "@bus/integration";
 *
 * deadLetterNameFor({ name: "job.run.request" }); // "job.run.request.dead-letter"
 * ```
 */
export function deadLetterNameFor(event: EventEnvelope, options?: DeadLetterOptions): string {
  return options?.name ?? `${event.name}${DEAD_LETTER_SUFFIX}`;
}

/**
 * Throws unless `value` is a valid `deadLetter` option: `false`, or an
 * object with an optional valid event `name` and boolean `includeStack`.
 *
 * @param where Starts each message, e.g. `Cannot run worker`.
 * @throws {TypeError} Naming the field that is wrong.
 */
export function assertDeadLetterOptions(
  value: unknown,
  where = "Cannot use deadLetter",
): asserts value is DeadLetterOptions | false | undefined {
  if (value === undefined || value === false) return;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${where}: deadLetter is ${
        JSON.stringify(value)
      }, expected false or { name?, includeStack? }`,
    );
  }
  const { name, includeStack } = value as Record<string, unknown>;
  const problem = name === undefined ? undefined : eventNameProblem(name);
  if (problem !== undefined) {
    throw new TypeError(`${where}: deadLetter.name is ${JSON.stringify(name)}: ${problem}`);
  }
  if (includeStack !== undefined && typeof includeStack !== "boolean") {
    throw new TypeError(
      `${where}: deadLetter.includeStack is ${
        JSON.stringify(includeStack)
      }, expected true or false`,
    );
  }
}

/**
 * The dead-letter step. It sits outside the retry step: an attempt settled
 * `retry` passes through; any other failure is final and is published as a
 * dead letter before the failure goes on outwards (so the error response
 * and the counters outside it still happen). A dead letter that cannot be
 * published is logged and counted, and the event is settled `retry` after
 * `redeliverAfter` where the transport redelivers, so it is not lost.
 */
export function deadLetter(setup: DeadLetterSetup): OutcomeStep {
  // Attempt times per envelope: the worker runs every in-process attempt
  // with the same envelope object, and a weak map forgets abandoned ones.
  const started = new WeakMap<EventEnvelope, { first: number; last: number }>();
  // Times stored and not deleted since (entries the map forgot count too):
  // while none are, an attempt that succeeds looks nothing up.
  let stored = 0;
  const redact = setup.redact ?? unchanged;
  return {
    timed: true,
    succeeded(event) {
      if (stored > 0 && started.delete(event)) stored--;
    },
    failed,
  };

  /** Publishes the dead letter of an attempt that failed for good; stores a retried one's times. */
  async function failed(
    error: unknown,
    event: EventEnvelope,
    context: HandlerContext,
    startedAt: number | undefined,
  ): Promise<void> {
    const earlier = stored > 0 ? started.get(event) : undefined;
    const first = earlier?.first ?? startedAt ?? Date.now();
    // A give-up (no `startedAt`) is not an attempt of its own.
    const last = startedAt ?? earlier?.last ?? first;
    if (context.settlement?.type === "retry") {
      if (earlier === undefined) stored++;
      started.set(event, { first, last });
      return;
    }
    if (earlier !== undefined && started.delete(event)) stored--;
    const payload: DeadLetterPayload = {
      envelope: event,
      attempts: context.attempt,
      reason: redact(
        context.settlement?.type === "dead" ? context.settlement.reason : describeError(error),
      ),
      error: errorFields(error, setup.options.includeStack === true, redact),
      firstAttemptAt: new Date(first).toISOString(),
      lastAttemptAt: new Date(last).toISOString(),
      ...setup.worker,
    };
    const name = deadLetterNameFor(event, setup.options);
    const where = { name: event.name, id: event.id, correlationId: event.correlationId };
    try {
      await context.publisher.publish(name, payload, {
        correlationId: event.correlationId,
        metadata: traceContextOf(event),
      });
      setup.stats.deadLetterPublished({
        at: new Date().toISOString(),
        ...where,
        deadLetter: name,
        attempts: context.attempt,
        reason: payload.reason,
      });
      logger.info("Dead-lettered {name} {id} as {deadLetter} after {attempts} attempts", {
        ...where,
        deadLetter: name,
        attempts: context.attempt,
      });
    } catch (publishError) {
      setup.stats.deadLetterFailed++;
      if (setup.redeliverAfter !== undefined) {
        context.settlement = { type: "retry", delay: setup.redeliverAfter };
        logger.error(
          "Cannot publish the dead letter of {name} {id}: {error}; the transport redelivers the event in {delay} ms",
          { ...where, error: publishError, delay: setup.redeliverAfter },
        );
      } else {
        logger.error(
          "Cannot publish the dead letter of {name} {id}, the event is lost (find it by its id in the server's history): {error}",
          { ...where, error: publishError },
        );
      }
    }
  }
}

function errorFields(
  error: unknown,
  includeStack: boolean,
  redact: Redact,
): DeadLetterError {
  const fields: DeadLetterError = {
    name: error instanceof Error ? error.name : typeof error,
    ...failureResponse(error, redact),
  };
  if (includeStack && error instanceof Error && error.stack !== undefined) {
    // The stack starts with the message.
    fields.stack = redact(error.stack);
  }
  return fields;
}

/** The event's W3C trace context metadata, or `undefined` when it has none. */
function traceContextOf(event: EventEnvelope): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const key of TRACE_CONTEXT) {
    const value = event.metadata?.[key];
    if (typeof value === "string") (found ??= {})[key] = value;
  }
  return found;
}

/**
 * Tells why `value` is not a {@linkcode DeadLetterPayload} that can be
 * redriven, or returns `undefined` when it is one: an object whose
 * `envelope` is an object with a valid event `name`.
 */
export function deadLetterProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "the payload is not an object";
  }
  const { envelope } = value as { envelope?: unknown };
  if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) {
    return "the payload has no envelope object";
  }
  const { name } = envelope as { name?: unknown };
  const problem = eventNameProblem(name);
  return problem === undefined ? undefined : `the envelope's name is not an event name: ${problem}`;
}
