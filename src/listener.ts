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
import type { EventsClient, StreamOptions } from "./client.ts";
import type { EventEnvelope } from "./envelope.ts";
import {
  AuthError,
  BadRequestError,
  EventsApiError,
  StreamProtocolError,
  TransientError,
} from "./errors.ts";
import { delay, linkAbort } from "./async.ts";
import { aggregateReadiness, ListenerReadiness } from "./readiness.ts";
import { Backoff, type ReconnectOptions } from "./reconnect.ts";

/** The stream a listener keeps open: everything of a stream request but its lifecycle. */
export type ListenStreamOptions = Omit<
  StreamOptions,
  "signal" | "lastEventId" | "refreshToken" | "onRetry"
>;

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  /** The shared client. */
  client: EventsClient;
  /** What to stream. */
  stream: ListenStreamOptions;
  /**
   * Receives each envelope. The next envelope is not read until the returned
   * promise settles, so a slow callback holds the stream back. A rejection is
   * fatal to the loop unless the loop's `signal` (passed along) has aborted.
   */
  onEvent: (event: EventEnvelope, signal: AbortSignal | undefined) => void | Promise<void>;
  /** Backoff bounds, or `false` to end at the first failure. @default {{ min: 1000, max: 30000 }} */
  reconnect?: ReconnectOptions | false | undefined;
  /** Retry 401/403 with a freshly issued token (needs a token provider). @default {false} */
  tokenRefresh?: boolean | undefined;
  /** Flipped true when a stream opens and false before each reconnect wait. */
  readiness?: ListenerReadiness | undefined;
  /** Stops the loop; it then resolves. */
  signal?: AbortSignal | undefined;
  /** Random source of the backoff jitter, for tests. */
  random?: (() => number) | undefined;
  /** Clock used to judge whether a connection stayed healthy. @default {Date.now} */
  now?: (() => number) | undefined;
}

const logger = getLogger(["bus-integration", "listener"]);

/** Why a listener stops retrying, or `undefined` when the failure is retryable. */
function fatal(error: unknown, options: ListenOptions): unknown {
  if (error instanceof BadRequestError) return error;
  if (error instanceof AuthError) {
    return options.tokenRefresh && options.client.hasTokenProvider ? undefined : error;
  }
  // An oversized line ends only that connection.
  if (error instanceof TransientError || error instanceof StreamProtocolError) return undefined;
  // Other statuses (404, 413, …) will not heal, and anything else is a bug in
  // a callback that must surface.
  return error;
}

/**
 * Keeps one stream open until `signal` aborts: reconnects after end of stream,
 * network failure, 5xx, 429 and oversized lines with bounded backoff, resuming
 * from the last envelope id. Resolves when aborted (or, with `reconnect: false` or
 * `follow: false`, when the stream ends); rejects with the error that made it
 * stop: `BadRequestError`, `AuthError` (unless token refresh applies), any
 * failure when reconnecting is off, or a rejection of `onEvent`.
 */
export async function listen(options: ListenOptions): Promise<void> {
  const { client, stream: streamOptions, readiness, signal } = options;
  const backoff = options.reconnect === false
    ? undefined
    : new Backoff(options.reconnect, options.random);
  const now = options.now ?? Date.now;
  const where = {
    name: streamOptions.name,
    delivery: streamOptions.delivery ?? "broadcast",
    group: streamOptions.group,
    consumer: streamOptions.consumer,
  };
  let lastEventId: string | undefined;
  let refreshToken = false;
  let serverRetry = 0;

  while (!signal?.aborted) {
    let openedAt: number | undefined;
    let failure: unknown;
    try {
      logger.debug("Opening stream for {name}", { ...where, lastEventId });
      const stream = await client.open({
        ...streamOptions,
        lastEventId,
        refreshToken,
        signal,
        onRetry: (ms) => serverRetry = ms,
      });
      openedAt = now();
      refreshToken = false;
      readiness?.set(true, "stream open");
      logger.info("Stream open for {name}", { ...where, status: stream.status });
      try {
        for await (const event of stream) {
          await options.onEvent(event, signal);
          lastEventId = stream.lastEventId;
        }
      } finally {
        lastEventId = stream.lastEventId;
      }
      if (streamOptions.follow === false) return;
      failure = new TransientError("Cannot keep listening: the stream ended", { code: "eof" });
    } catch (error) {
      failure = error;
    }
    if (signal?.aborted) break;

    readiness?.set(false, describe(failure));
    const stop = backoff === undefined ? failure : fatal(failure, options);
    if (stop !== undefined) {
      if (backoff === undefined && isEndOfStream(failure)) return;
      logger.error("Listener for {name} stopped: {error}", { ...where, error: describe(stop) });
      throw stop;
    }
    if (openedAt !== undefined && now() - openedAt >= backoff!.healthyAfter) backoff!.reset();
    if (failure instanceof AuthError) refreshToken = true;
    const retryAfter = failure instanceof TransientError ? failure.retryAfter ?? 0 : 0;
    const wait = backoff!.next(Math.max(retryAfter, serverRetry));
    logger.warn("Listener for {name} reconnecting in {wait} ms: {error}", {
      ...where,
      wait,
      attempt: backoff!.attempt,
      error: describe(failure),
    });
    try {
      await delay(wait, signal);
    } catch {
      break;
    }
  }
  readiness?.set(false, "stopped");
  logger.info("Listener for {name} stopped", where);
}

function isEndOfStream(error: unknown): boolean {
  return error instanceof TransientError && error.code === "eof";
}

/** A one-line description for logs and readiness reasons; never a token. */
function describe(error: unknown): string {
  if (error instanceof EventsApiError && error.status !== undefined) {
    return `${error.status} ${error.code}`;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Options of {@linkcode listenAll}: {@linkcode ListenOptions} for several streams. */
export interface ListenAllOptions extends Omit<ListenOptions, "stream"> {
  /** One listener per entry. */
  streams: readonly ListenStreamOptions[];
}

/**
 * Runs one {@linkcode listen} loop per stream. `readiness` is ready while all
 * of them are; the first fatal error stops the others and is rethrown once
 * they have ended.
 */
export async function listenAll(options: ListenAllOptions): Promise<void> {
  const { streams, readiness, signal, ...shared } = options;
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
