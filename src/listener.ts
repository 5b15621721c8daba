/**
 * The one reconnecting listen loop that workers and response listeners share:
 * open → read → (end or fail) → classify → wait → reopen with
 * `Last-Event-ID`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { EventEnvelope } from "./envelope.ts";
import {
  AuthError,
  BadRequestError,
  describeError,
  StreamProtocolError,
  TransientError,
} from "./errors.ts";
import { delay, linkAbort, timerDelay } from "./async.ts";
import { dialedUrl } from "./dialed_url.ts";
import { aggregateReadiness, ListenerReadiness } from "./readiness.ts";
import { assertReconnectOptions, Backoff, type ReconnectOptions } from "./reconnect.ts";
import type { EventSubscription, EventTransport, Settlement, StreamOptions } from "./transport.ts";

/** The stream a listener keeps open: everything of a stream request but its lifecycle. */
export type ListenStreamOptions = Omit<
  StreamOptions,
  "signal" | "lastEventId" | "refreshCredentials"
>;

/**
 * How a listener keeps its subscriptions: the options every listening layer
 * (worker, requester, response listener, registration, host) takes and
 * passes down unchanged.
 */
export interface ListenPolicy {
  /** Ready while every subscription of the listener is open; false before each reconnect wait. */
  readiness?: ListenerReadiness | undefined;
  /** Stops listening; the call then resolves (a worker drains first). */
  signal?: AbortSignal | undefined;
  /** Reconnect backoff, or `false` to end at the first failure. @default {{ min: 1000, max: 30000, healthyAfter: 10000 }} */
  reconnect?: ReconnectOptions | false | undefined;
  /** Retry 401/403 with freshly issued credentials (needs a token provider). @default {false} */
  tokenRefresh?: boolean | undefined;
  /** Random source of the backoff jitter, for tests. @default {Math.random} */
  random?: (() => number) | undefined;
  /** Clock used to judge whether a connection stayed healthy. @default {Date.now} */
  now?: (() => number) | undefined;
}

/**
 * Lets a listener's `onEvent` settle its event later, after it returned:
 * the worker hands the event to a handler and settles it when the handler
 * is done.
 */
export interface EventSettler {
  /** Which delivery of the event this is, from 1. */
  readonly attempt: number;
  /** Whether a `retry` settlement gets the event delivered again. */
  readonly redelivers: boolean;
  /** Settles the event with the transport; later calls are ignored. */
  settle(settlement: Settlement): Promise<void>;
  /** Tells the transport the event is still being handled. */
  working(): Promise<void>;
  /** How often to call `working()` while handling, in ms (see `EventSubscription.workingInterval`). */
  readonly workingInterval?: number | undefined;
}

/** What `onEvent` gets with each event besides the envelope. */
export interface ListenEventContext {
  /** The loop's signal: aborted when the listener stops. */
  readonly signal: AbortSignal | undefined;
  /** Which delivery of the event this is, from 1 (see `EventSubscription.attempt`). */
  readonly attempt: number;
  /** Whether a `retry` settlement gets the event delivered again. */
  readonly redelivers: boolean;
  /**
   * Takes over settling this event. Without it, the listener settles the
   * event as `done` once `onEvent` resolves.
   */
  defer(): EventSettler;
}

/** Options of {@linkcode listen}. */
export interface ListenOptions extends ListenPolicy {
  /** The shared transport, e.g. an `EventsClient`. */
  transport: EventTransport;
  /** What to stream. */
  stream: ListenStreamOptions;
  /**
   * Receives each envelope. The next envelope is not read until the returned
   * promise settles, so a slow callback holds the stream back. A rejection is
   * fatal to the loop unless the loop's `signal` (passed along) has aborted.
   */
  onEvent: (event: EventEnvelope, context: ListenEventContext) => void | Promise<void>;
}

const DONE: Settlement = Object.freeze({ type: "done" });

const logger = getLogger(["bus-integration", "listener"]);

/** Why a listener stops retrying, or `undefined` when the failure is retryable. */
function fatal(error: unknown, options: LoopOptions): unknown {
  if (error instanceof BadRequestError) return error;
  if (error instanceof AuthError) {
    return options.tokenRefresh && options.transport.canRefreshCredentials ? undefined : error;
  }
  // Framing a transport cannot skip ends only that connection.
  if (error instanceof TransientError || error instanceof StreamProtocolError) return undefined;
  // Other statuses (404, 413, …) will not heal, and anything else is a bug in
  // a callback that must surface.
  return error;
}

/**
 * Keeps one stream open until `signal` aborts: reconnects after end of stream,
 * network failure, 5xx, 429 and unskippable framing errors with bounded backoff, resuming
 * from the last envelope id. Resolves when aborted (or, with `reconnect: false` or
 * `follow: false`, when the stream ends); rejects with the error that made it
 * stop: `BadRequestError`, `AuthError` (unless token refresh applies), any
 * failure when reconnecting is off, or a rejection of `onEvent`. Either
 * way `readiness` is left not ready.
 */
export function listen(options: ListenOptions): Promise<void> {
  return listenTo(options.stream, options);
}

/** What {@linkcode listen} needs besides the stream. */
type LoopOptions = Omit<ListenOptions, "stream">;

/**
 * {@linkcode listen}'s loop, with the stream apart from the options, so
 * that `listenAll()` passes its own options object on as it is: a copy
 * made with rest and spread gets a hidden class of its own in V8, about
 * 300 bytes per listener of a host.
 */
async function listenTo(streamOptions: ListenStreamOptions, options: LoopOptions): Promise<void> {
  // Read from `options` where used rather than kept in locals: each local
  // is a register of this frame, which every idle listener keeps suspended.
  if (options.reconnect !== false) assertReconnectOptions(options.reconnect);
  // Made at the first failure: a listener that stays connected keeps none.
  let backoff: Backoff | undefined;
  let lastEventId: string | undefined;
  let refreshCredentials = false;
  let serverRetry = 0;

  while (!options.signal?.aborted) {
    let openedAt: number | undefined;
    let delivered = 0;
    let hinted = false;
    let failure: unknown;
    try {
      // Asked first, once for both records: a record's fields and LogTape's
      // work on it were about 1 KiB of garbage per listener of a host that
      // starts, unlogged (and each question makes some garbage of its own).
      const logsInfo = logger.isEnabledFor("info");
      if (logsInfo && logger.isEnabledFor("debug")) {
        logger.debug(
          "Opening stream for {name}",
          openingFields(options.transport, streamOptions, lastEventId),
        );
      }
      const stream = await options.transport.open(
        openRequest(streamOptions, lastEventId, refreshCredentials, options.signal),
      );
      openedAt = (options.now ?? Date.now)();
      refreshCredentials = false;
      options.readiness?.set(true, "stream open");
      if (logsInfo) {
        logger.info("Stream open for {name}", streamFields(options.transport, streamOptions));
      }
      try {
        if (stream.nextBatch === undefined) {
          // `next()` by hand rather than `for await`: its iterator record
          // and return-on-throw bookkeeping are registers of this frame,
          // which every idle listener keeps suspended (the `finally`
          // closes the stream, which is all `return()` would do).
          let result: IteratorResult<EventEnvelope, undefined>;
          while (!(result = await stream.next()).done) {
            const event = result.value;
            delivered++;
            const receipt = new Receipt(stream, event, options.signal);
            await options.onEvent(event, receipt);
            if (!receipt.deferred) await stream.settle(event, DONE);
          }
        } else {
          // One promise per batch rather than per envelope where the
          // transport hands out what arrived together: a synchronous
          // `onEvent` is not awaited, and the batch's settlements (which
          // never reject) are awaited together at its end.
          let batch: readonly EventEnvelope[] | undefined;
          while ((batch = await stream.nextBatch()) !== undefined) {
            const settling: Promise<void>[] = [];
            for (let index = 0; index < batch.length; index++) {
              const event = batch[index]!;
              delivered++;
              const receipt = new Receipt(stream, event, options.signal);
              const handled = options.onEvent(event, receipt);
              if (isPromiseLike(handled)) await handled;
              if (!receipt.deferred) settling.push(stream.settle(event, DONE));
            }
            await Promise.all(settling);
          }
        }
      } finally {
        await stream.close();
        lastEventId = stream.lastEventId;
        serverRetry = stream.reconnectHint ?? serverRetry;
        hinted = stream.reconnectHint !== undefined;
      }
      // However it ends, it ends not ready (a failure made it so already).
      if (streamOptions.follow === false) return options.readiness?.set(false, "stopped");
      failure = new TransientError("Cannot keep listening: the stream ended", { code: "eof" });
    } catch (error) {
      failure = error;
    }
    if (options.signal?.aborted) break;

    // An end of stream is how SSE servers rotate connections, not a failure to show.
    if (isEndOfStream(failure)) options.readiness?.set(false, describeError(failure));
    else options.readiness?.fail(describeError(failure));
    const stop = options.reconnect === false ? failure : fatal(failure, options);
    if (stop !== undefined) {
      if (options.reconnect === false && isEndOfStream(failure)) {
        return options.readiness?.set(false, "stopped");
      }
      // Debug only: the caller gets `stop` and says it once (the CLI: one line).
      logger.debug("Listener for {name} on {url} stopped: {error}", {
        ...streamFields(options.transport, streamOptions),
        error: describeError(stop),
      });
      throw stop;
    }
    backoff ??= new Backoff(options.reconnect as ReconnectOptions | undefined, options.random);
    // Healthy: it opened, and delivered an event, ended as the server meant
    // (EOF after its own `retry:`), or stayed open `healthyAfter`. A server
    // that accepts and closes at once with nothing still meets a growing wait.
    if (
      openedAt !== undefined &&
      (delivered > 0 || (hinted && isEndOfStream(failure)) ||
        (options.now ?? Date.now)() - openedAt >= backoff.healthyAfter)
    ) {
      backoff.reset();
    }
    if (failure instanceof AuthError) refreshCredentials = true;
    const retryAfter = failure instanceof TransientError ? failure.retryAfter ?? 0 : 0;
    // Clamped here too (delay() clamps anyway), so the log says what is waited.
    const wait = timerDelay(backoff.next(Math.max(retryAfter, serverRetry)));
    logger.warn("Listener for {name} on {url} reconnecting in {wait} ms: {error}", {
      ...streamFields(options.transport, streamOptions),
      wait,
      attempt: backoff.attempt,
      error: describeError(failure),
    });
    try {
      await delay(wait, options.signal);
    } catch {
      break;
    }
  }
  options.readiness?.set(false, "stopped");
  logger.info("Listener for {name} stopped", streamFields(options.transport, streamOptions));
}

/**
 * What every log record of a listener says about its stream, made per
 * record: a waiting listener keeps none of it (the URL is a string of its own).
 */
function streamFields(transport: EventTransport, stream: ListenStreamOptions) {
  return {
    name: stream.name,
    url: dialedUrl(transport),
    delivery: stream.delivery ?? "broadcast",
    group: stream.group,
    consumer: stream.consumer,
  };
}

/**
 * {@linkcode streamFields} and the resume point, for the record of an
 * opening: one literal, where a spread copy of the fields made about
 * twice their garbage per listener of a host that starts.
 */
function openingFields(
  transport: EventTransport,
  stream: ListenStreamOptions,
  lastEventId: string | undefined,
) {
  return {
    name: stream.name,
    url: dialedUrl(transport),
    delivery: stream.delivery ?? "broadcast",
    group: stream.group,
    consumer: stream.consumer,
    lastEventId,
  };
}

/**
 * What one opening asks the transport for: the stream's options and the
 * loop's state, written out as one literal with every option of
 * `StreamOptions` (its type leaves none out), where a spread copy of the
 * options grew its property storage as it went: about 1.3 KiB of garbage
 * per listener of a host that starts (V8's sampling heap profiler), left
 * as holes by a non-moving GC (Bun's). Options the caller left out are `undefined` here, which every
 * transport reads the same as absent.
 */
function openRequest(
  stream: ListenStreamOptions,
  lastEventId: string | undefined,
  refreshCredentials: boolean,
  signal: AbortSignal | undefined,
): StreamOptions {
  const request: { [K in keyof Required<StreamOptions>]: StreamOptions[K] } = {
    name: stream.name,
    delivery: stream.delivery,
    group: stream.group,
    consumer: stream.consumer,
    replay: stream.replay,
    follow: stream.follow,
    concurrency: stream.concurrency,
    onInvalid: stream.onInvalid,
    lastEventId,
    refreshCredentials,
    signal,
  };
  return request;
}

/** Whether `value` is a promise to wait for (what `onEvent` returns when it is async). */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

/** One event's {@linkcode ListenEventContext}, and its settler once deferred. */
class Receipt implements ListenEventContext, EventSettler {
  readonly signal: AbortSignal | undefined;
  readonly #subscription: EventSubscription;
  readonly #event: EventEnvelope;
  deferred = false;

  constructor(
    subscription: EventSubscription,
    event: EventEnvelope,
    signal: AbortSignal | undefined,
  ) {
    this.#subscription = subscription;
    this.#event = event;
    this.signal = signal;
  }

  get attempt(): number {
    return this.#subscription.attempt(this.#event);
  }

  get redelivers(): boolean {
    return this.#subscription.redelivers;
  }

  get workingInterval(): number | undefined {
    return this.#subscription.workingInterval;
  }

  defer(): EventSettler {
    this.deferred = true;
    return this;
  }

  settle(settlement: Settlement): Promise<void> {
    return this.#subscription.settle(this.#event, settlement);
  }

  working(): Promise<void> {
    return this.#subscription.working(this.#event);
  }
}

function isEndOfStream(error: unknown): boolean {
  return error instanceof TransientError && error.code === "eof";
}

/** Options of {@linkcode listenAll}: {@linkcode ListenOptions} for several streams. */
export interface ListenAllOptions extends Omit<ListenOptions, "stream"> {
  /** One listener per entry. */
  streams: readonly ListenStreamOptions[];
}

/**
 * Runs one {@linkcode listen} loop per stream. `readiness` is ready while all
 * of them are; the first fatal error stops the others and is rethrown once
 * they have ended. Rejects with `TypeError` when `streams` is empty.
 */
export function listenAll(options: ListenAllOptions): Promise<void> {
  const { streams } = options;
  // No stream would be "all ready" at once and end at once: say so instead.
  if (streams.length === 0) {
    return Promise.reject(new TypeError("Cannot listen: streams is empty"));
  }
  // The usual worker, one name, is that one loop: no stop, readiness, abort
  // link or suspended frame of its own, which a host with a thousand of
  // them pays for a thousand times (see bench/scale.ts). `listen()` leaves
  // its readiness not ready however it ends.
  if (streams.length === 1) return listenTo(streams[0]!, options);
  return listenEach(options);
}

/** {@linkcode listenAll} for several streams: one loop each, one stop and readiness for all. */
async function listenEach(options: ListenAllOptions): Promise<void> {
  const { streams, readiness, signal, ...shared } = options;
  // Called as a method of `options` (a worker's is one), which the copy is not.
  shared.onEvent = (event, context) => options.onEvent(event, context);
  const stop = new AbortController();
  const unlink = linkAbort(signal, stop);
  const parts = streams.map(() => new ListenerReadiness());
  const unaggregate = readiness ? aggregateReadiness(readiness, parts) : () => {};
  let failure: { error: unknown } | undefined;
  await Promise.all(
    streams.map((stream, index) =>
      listen({ ...shared, stream, readiness: parts[index], signal: stop.signal }).catch((error) => {
        failure ??= { error };
        stop.abort(error);
      })
    ),
  );
  unlink();
  unaggregate();
  readiness?.set(false, failure ? "failed" : "stopped");
  if (failure) throw failure.error;
}
