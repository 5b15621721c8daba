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
import type { InvalidInput, InvalidInputHandler } from "./decode/types.ts";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { describeError } from "./errors.ts";
import { compose, type HandlerMiddleware } from "./handling/compose.ts";
import type { HandlerContext } from "./handling/context.ts";
import { replyOnFailure } from "./handling/error_reply.ts";
import { logFailures } from "./handling/log_failures.ts";
import { countOutcomes, WorkerStats } from "./handling/stats.ts";
import {
  type EventSettler,
  listenAll,
  type ListenEventContext,
  type ListenPolicy,
} from "./listener.ts";
import { EventPublisher, type Publisher } from "./publisher.ts";
import { settlesWithin } from "./async.ts";
import { Slots } from "./slots.ts";
import type { Delivery, EventTransport, Settlement } from "./transport.ts";

/** Handles one event; throwing answers the requester with an error response. */
export type WorkerHandler = (event: EventEnvelope, publisher: Publisher) => unknown;

/** Options of {@linkcode runWorker}. */
export interface WorkerOptions extends ListenPolicy {
  /** The (shared) transport, e.g. an `EventsClient`. */
  transport: EventTransport;
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
  /**
   * Middlewares run around the handler, outermost first, inside the
   * worker's own (counting, failure logging and the error response).
   */
  middlewares?: readonly HandlerMiddleware[] | undefined;
  /** Most handlers running at once. @default {1} */
  concurrency?: number | undefined;
  /** Longest wait for in-flight handlers after abort, in ms. @default {30000} */
  drainTimeout?: number | undefined;
  /** Called for each malformed line or event that was skipped. */
  onInvalid?: InvalidInputHandler | undefined;
  /** Counters to update; pass one to observe the worker. */
  stats?: WorkerStats | undefined;
}

/** The drain timeout of workers, registrations and hosts that set none, in ms. */
export const DEFAULT_DRAIN_TIMEOUT = 30_000;
const DONE: Settlement = Object.freeze({ type: "done" });
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
 *   transport: client,
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
  const pipeline = compose(
    [countOutcomes(stats), logFailures, replyOnFailure, ...(options.middlewares ?? [])],
    (event, context) => options.handler(event, context.publisher),
  );

  const handle = async (event: EventEnvelope, settler: EventSettler) => {
    const context: HandlerContext = {
      publisher: new EventPublisher(options.transport, event, stopHandlers.signal, source),
      signal: stopHandlers.signal,
      attempt: settler.attempt,
      settlement: undefined,
    };
    let settlement: Settlement;
    try {
      await pipeline(event, context);
      settlement = context.settlement ?? DONE;
    } catch (error) {
      // Counted, logged and answered by the pipeline already.
      settlement = context.settlement ?? { type: "dead", reason: describeError(error) };
    }
    // The slot is held until the transport knows, so a drain waits for acks too.
    await settler.settle(settlement).catch(() => {});
    slots.release();
  };

  const onEvent = async (event: EventEnvelope, received: ListenEventContext) => {
    // Waiting here keeps the stream unread while every slot is busy. An abort
    // while waiting rejects; the listener then sees its signal aborted and
    // ends quietly.
    await slots.acquire(received.signal);
    handle(event, received.defer());
  };

  const onInvalid = (invalid: InvalidInput) => {
    stats.invalid++;
    logger.warn("Skipped malformed input: {reason}", { ...invalid });
    options.onInvalid?.(invalid);
  };

  let failure: { error: unknown } | undefined;
  await listenAll({
    transport: options.transport,
    streams: options.names.map((name) => ({
      name,
      delivery: options.delivery,
      group: options.group,
      consumer: options.consumer,
      replay: options.replay,
      onInvalid,
    })),
    onEvent,
    reconnect: options.reconnect,
    tokenRefresh: options.tokenRefresh,
    readiness: options.readiness,
    signal: options.signal,
    random: options.random,
    now: options.now,
  }).catch((error) => {
    failure = { error };
    stats.lastError = describeError(error);
  });
  await drain(slots, options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT, stopHandlers);
  if (failure) throw failure.error;
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
