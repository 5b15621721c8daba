/**
 * How many streams one `EventsClient` may hold open, so that a runtime's
 * cap on concurrent `fetch` requests fails loudly instead of stalling the
 * listeners past it: Bun runs at most `BUN_CONFIG_MAX_HTTP_REQUESTS`
 * (default 256) fetches at once and queues the rest, and a queued stream
 * request never gets its answer while the streams before it stay open.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { once } from "./async.ts";
import { EventsApiError } from "./errors.ts";
import { readEnv } from "./runtime.ts";

/** Bun's default for `BUN_CONFIG_MAX_HTTP_REQUESTS`. */
const BUN_DEFAULT_FETCH_LIMIT = 256;
/** Fetches left free under a runtime cap for publishes and one-off requests. */
const PUBLISH_RESERVE = 16;

/**
 * The most `fetch` requests this runtime runs at once, where it caps them
 * (Bun: `BUN_CONFIG_MAX_HTTP_REQUESTS`, default 256), else `undefined`.
 */
export function runtimeFetchLimit(): number | undefined {
  // Bun names itself here ("Bun/1.2.3"), a web-standard place to ask.
  const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  if (!agent?.startsWith("Bun/")) return undefined;
  const configured = Number(readEnv().BUN_CONFIG_MAX_HTTP_REQUESTS);
  return Number.isInteger(configured) && configured > 0 ? configured : BUN_DEFAULT_FETCH_LIMIT;
}

/**
 * The default `maxStreams` of a client: the runtime's fetch cap less a
 * reserve for publishing, or `undefined` (no cap) where there is none.
 */
export function defaultMaxStreams(): number | undefined {
  const limit = runtimeFetchLimit();
  return limit === undefined ? undefined : Math.max(1, limit - PUBLISH_RESERVE);
}

/**
 * Counts a client's open streams against its `maxStreams`: `acquire()`
 * takes a slot for a stream being opened, or throws when none is free.
 */
export class StreamSlots {
  readonly #max: number | undefined;
  #open = 0;

  /**
   * @throws {RangeError} When `max` is given and is not a positive integer.
   */
  constructor(max: number | undefined) {
    if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
      throw new RangeError(
        `Cannot use maxStreams: current value is ${max}, expected a positive integer`,
      );
    }
    this.#max = max;
  }

  /** Streams open or being opened now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Takes a slot; the returned function gives it back (once, however often
   * it is called).
   *
   * @throws {EventsApiError} With code `too_many_streams` when every slot
   * is taken: fatal to a listener, since it cannot heal while the other
   * streams stay open.
   */
  acquire(): () => void {
    const max = this.#max;
    if (max !== undefined && this.#open >= max) {
      const limit = runtimeFetchLimit();
      const why = limit === undefined
        ? "raise the client's maxStreams or spread the listeners over more clients"
        : `Bun runs at most ${limit} fetch requests at once and queues the rest; raise ` +
          `BUN_CONFIG_MAX_HTTP_REQUESTS (up to 65336) or the client's maxStreams`;
      throw new EventsApiError(
        `Cannot open stream: this client already holds ${this.#open} streams open, its maxStreams (${why})`,
        { code: "too_many_streams" },
      );
    }
    this.#open++;
    return once(() => this.#open--);
  }
}
