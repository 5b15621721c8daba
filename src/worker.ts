/**
 * `runWorker()`: the loop every Bus integration worker runs — streams to a
 * handler, at most `concurrency` at a time, with replies through a
 * `Publisher`, reconnects on failure and a graceful drain on abort.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Delivery, EventsClient } from "./client.ts";
import type { InvalidInput, InvalidInputHandler } from "./decode/types.ts";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { ResponseError } from "./errors.ts";
import { listenAll } from "./listener.ts";
import { EventPublisher, type Publisher } from "./publisher.ts";
import type { ListenerReadiness } from "./readiness.ts";
import { settlesWithin } from "./async.ts";
import type { ReconnectOptions } from "./reconnect.ts";
import { Slots } from "./slots.ts";

/** Handles one event; throwing answers the requester with an error response. */
export type WorkerHandler = (event: EventEnvelope, publisher: Publisher) => unknown;

/** Options of {@linkcode runWorker}. */
export interface WorkerOptions {
  /** The (shared) client. */
  client: EventsClient;
  /** Event names to listen to; one stream per name. */
  names: readonly string[];
  /** `unicast` shares the events between the workers of `group`. @default {"broadcast"} */
  delivery?: Delivery | undefined;
  /** Unicast group; workers in one group share the events. */
  group?: string | undefined;
  /** Stable consumer name within the group; also the default `source`. */
  consumer?: string | undefined;
  /** Start with the retained history of each name (broadcast replay). @default {false} */
  replay?: boolean | undefined;
  /** `source` of published events. @default {consumer ?? group} */
  source?: string | undefined;
  /** The handler. */
  handler: WorkerHandler;
  /** Most handlers running at once. @default {1} */
  concurrency?: number | undefined;
  /** Reconnect backoff, or `false` to fail at the first error. @default {{ min: 1000, max: 30000 }} */
  reconnect?: ReconnectOptions | false | undefined;
  /** Retry 401/403 with a reissued token (needs a token provider). @default {false} */
  tokenRefresh?: boolean | undefined;
  /** Ready while every stream of the worker is open. */
  readiness?: ListenerReadiness | undefined;
  /** Aborting stops reading, drains in-flight handlers, then resolves. */
  signal?: AbortSignal | undefined;
  /** Longest wait for in-flight handlers after abort, in ms. @default {30000} */
  drainTimeout?: number | undefined;
  /** Called for each malformed line or event that was skipped. */
  onInvalid?: InvalidInputHandler | undefined;
  /** Counters to update; pass one to observe the worker. */
  stats?: WorkerStats | undefined;
  /** Random source of the backoff jitter, for tests. */
  random?: (() => number) | undefined;
}

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

/** The error code a failed handler is answered with, unless it threw a `ResponseError`. */
export const HANDLER_FAILED = "handler_failed";

const DEFAULT_DRAIN_TIMEOUT = 30_000;
const logger = getLogger(["bus-integration", "worker"]);

/**
 * Runs a worker until `signal` aborts (then drains and resolves) or a listener
 * fails fatally (then drains and rejects with that error).
 *
 * @example An echo worker
 * ```ts ignore
 * import { EventsClient, runWorker } from "@bus/integration";
 *
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * const controller = new AbortController();
 * await runWorker({
 *   client,
 *   names: ["example.echo.request"],
 *   delivery: "unicast",
 *   group: "echo",
 *   consumer: "echo-1",
 *   concurrency: 4,
 *   signal: controller.signal,
 *   handler: async (event, publisher) => {
 *     await publisher.reply({ echoed: event.payload });
 *   },
 * });
 * ```
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  if (options.names.length === 0) {
    throw new TypeError("Cannot run worker: names is empty");
  }
  options.names.forEach(assertEventName);
  const slots = new Slots(options.concurrency ?? 1);
  const stats = options.stats ?? new WorkerStats();
  const source = options.source ?? options.consumer ?? options.group;
  const stopHandlers = new AbortController();

  const handle = async (event: EventEnvelope) => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const publisher = new EventPublisher(options.client, event, stopHandlers.signal, source);
    try {
      await options.handler(event, publisher);
      stats.handled++;
    } catch (error) {
      stats.failed++;
      stats.lastError = describeError(error);
      logger.error("Handler failed on {name} {id}: {error}", {
        name: event.name,
        id: event.id,
        correlationId: event.correlationId,
        error,
      });
      if (event.correlationId !== undefined) await answerFailure(publisher, error);
    } finally {
      stats.inFlight--;
      slots.release();
    }
  };

  const onEvent = async (event: EventEnvelope, stopReading: AbortSignal | undefined) => {
    // Waiting here keeps the stream unread while every slot is busy. An abort
    // while waiting rejects; the listener then sees its signal aborted and
    // ends quietly.
    await slots.acquire(stopReading);
    handle(event);
  };

  const onInvalid = (invalid: InvalidInput) => {
    stats.invalid++;
    logger.warn("Skipped malformed input: {reason}", { ...invalid });
    options.onInvalid?.(invalid);
  };

  let failure: { error: unknown } | undefined;
  await listenAll({
    client: options.client,
    streams: options.names.map((name) => ({
      name,
      ...(options.delivery ? { delivery: options.delivery } : {}),
      ...(options.group ? { group: options.group } : {}),
      ...(options.consumer ? { consumer: options.consumer } : {}),
      ...(options.replay ? { replay: true } : {}),
      onInvalid,
    })),
    onEvent,
    reconnect: options.reconnect,
    tokenRefresh: options.tokenRefresh,
    readiness: options.readiness,
    signal: options.signal,
    random: options.random,
  }).catch((error) => {
    failure = { error };
    stats.lastError = describeError(error);
  });
  await drain(slots, options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT, stopHandlers);
  if (failure) throw failure.error;
}

/** Answers a failed handler's requester; a failure to answer is only logged. */
async function answerFailure(publisher: Publisher, error: unknown): Promise<void> {
  const { code, message } = error instanceof ResponseError
    ? error
    : { code: HANDLER_FAILED, message: error instanceof Error ? error.message : String(error) };
  try {
    await publisher.replyError(code, message);
  } catch (replyFailure) {
    logger.error("Cannot publish the error response for {correlationId}: {error}", {
      correlationId: publisher.event.correlationId,
      error: replyFailure,
    });
  }
}

/** Waits for in-flight handlers up to `timeout`, then aborts their signal. */
async function drain(slots: Slots, timeout: number, stopHandlers: AbortController) {
  if (slots.inUse === 0) return;
  logger.info("Draining {count} in-flight handlers", { count: slots.inUse });
  if (!await settlesWithin(slots.idle(), timeout)) {
    logger.warn("Drain timeout of {timeout} ms ran out with {count} handlers running", {
      timeout,
      count: slots.inUse,
    });
    stopHandlers.abort(new DOMException("The worker's drain timeout ran out", "TimeoutError"));
  }
}

/** A one-line description of an error for stats and health reports; never a token. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
