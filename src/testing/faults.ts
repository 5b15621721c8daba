/**
 * Fault injection for the reference server: failing answers, dropped and
 * corrupted streams, and stalls, so clients can be tested against them.
 *
 * @module
 */

import { errorTypeForStatus, jsonResponse } from "./http.ts";
import type { EventStream } from "./stream_response.ts";

/** The two routes a fault can be injected into. */
export type FaultRoute = "stream" | "publish";

/** Options of {@linkcode EventsApiFaults.failNext}. */
export interface FailNextOptions {
  /**
   * How many requests to fail.
   *
   * @default {1}
   */
  count?: number;
  /** The HTTP status to answer with. */
  status: number;
  /** Seconds to send as `Retry-After`; no header when omitted. */
  retryAfter?: number;
  /**
   * The answer's body: a string is sent as it is (`text/plain`), anything
   * else as JSON. Defaults to the usual `{"error": {"type", "message"}}`.
   */
  body?: unknown;
}

/** Which open streams a fault applies to; every field given must match. */
export interface StreamFilter {
  /** Only streams of this event name. */
  name?: string;
  /** Only broadcast or only unicast streams. */
  delivery?: "broadcast" | "unicast";
  /** Only unicast streams of this group. */
  group?: string;
  /** Only streams opened with this `consumer` query value. */
  consumer?: string;
}

/** Faults a test can inject into a running reference server. */
export interface EventsApiFaults {
  /**
   * Answers the next `count` requests to `route` with `status` instead of
   * serving them (before auth, like a failing gateway would).
   */
  failNext(route: FaultRoute, options: FailNextOptions): void;
  /**
   * Ends every open stream at once, mid-stream, as a restarting server
   * would: the body ends (EOF) and queued frames are lost.
   *
   * @param filter Only the streams matching it; all when omitted.
   * @returns how many streams were ended.
   */
  dropStreams(filter?: StreamFilter): number;
  /**
   * Writes `line` (default `{not json`) into every open stream; on SSE
   * streams as the `data:` of an event.
   *
   * @param line The text to write.
   * @param filter Only the streams matching it; all when omitted.
   * @returns how many streams it was written to.
   */
  sendMalformed(line?: string, filter?: StreamFilter): number;
  /**
   * Stops writing anything (events and keepalives) to open and new streams;
   * events queue until {@linkcode EventsApiFaults.resumeStreams}.
   */
  stallStreams(): void;
  /** Writes what queued during a stall and carries on normally. */
  resumeStreams(): void;
}

/** What {@linkcode Faults} acts on. */
export interface FaultTargets {
  /** Every open stream. */
  readonly streams: () => Iterable<EventStream>;
  /** Lets unicast groups hand out what waited during a stall. */
  readonly redispatch: () => void;
}

/** Statuses whose `Response` may not have a body. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

interface PendingFailure {
  remaining: number;
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly body: unknown;
}

/** The fault state of one server instance. */
export class Faults implements EventsApiFaults {
  readonly #targets: FaultTargets;
  readonly #failures: Record<FaultRoute, PendingFailure[]> = { stream: [], publish: [] };
  #stalled = false;

  /** Creates the fault state for the streams `targets` lists. */
  constructor(targets: FaultTargets) {
    this.#targets = targets;
  }

  /** Whether streams are stalled. */
  get stalled(): boolean {
    return this.#stalled;
  }

  /** Answers the next `count` requests to `route` with `status`. */
  failNext(route: FaultRoute, options: FailNextOptions): void {
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot fail ${count} requests: expected a positive integer`);
    }
    if (!Number.isInteger(options.status) || options.status < 200 || options.status > 599) {
      throw new RangeError(`Cannot answer with status ${options.status}: expected 200-599`);
    }
    if (options.retryAfter !== undefined && !(options.retryAfter >= 0)) {
      throw new RangeError(
        `Cannot send Retry-After ${options.retryAfter}: expected seconds >= 0`,
      );
    }
    this.#failures[route].push({
      remaining: count,
      status: options.status,
      retryAfter: options.retryAfter,
      body: options.body,
    });
  }

  /** Ends every open stream matching `filter` at once. */
  dropStreams(filter: StreamFilter = {}): number {
    const streams = this.#select(filter);
    for (const stream of streams) stream.close();
    return streams.length;
  }

  /** Writes `line` into every open stream matching `filter`. */
  sendMalformed(line = "{not json", filter: StreamFilter = {}): number {
    const streams = this.#select(filter);
    for (const stream of streams) stream.sendMalformed(line);
    return streams.length;
  }

  /** Stops writing to streams. */
  stallStreams(): void {
    this.#stalled = true;
  }

  /** Writes what queued and carries on. */
  resumeStreams(): void {
    this.#stalled = false;
    for (const stream of [...this.#targets.streams()]) stream.flush();
    this.#targets.redispatch();
  }

  #select(filter: StreamFilter): EventStream[] {
    return [...this.#targets.streams()].filter(({ labels }) =>
      (filter.name === undefined || labels.name === filter.name) &&
      (filter.delivery === undefined || labels.delivery === filter.delivery) &&
      (filter.group === undefined || labels.group === filter.group) &&
      (filter.consumer === undefined || labels.consumer === filter.consumer)
    );
  }

  /** The injected answer for this request to `route`, if one is pending. */
  take(route: FaultRoute): Response | undefined {
    const queue = this.#failures[route];
    const failure = queue[0];
    if (failure === undefined) return undefined;
    failure.remaining--;
    if (failure.remaining <= 0) queue.shift();
    const headers = new Headers();
    if (failure.retryAfter !== undefined) {
      headers.set("retry-after", String(Math.ceil(failure.retryAfter)));
    }
    if (NULL_BODY_STATUSES.has(failure.status)) {
      return new Response(null, { status: failure.status, headers });
    }
    if (failure.body === undefined) {
      return jsonResponse(
        {
          error: {
            type: errorTypeForStatus(failure.status),
            message: `injected fault: ${route} answers ${failure.status}`,
          },
        },
        failure.status,
        headers,
      );
    }
    if (typeof failure.body === "string") {
      headers.set("content-type", "text/plain; charset=utf-8");
      return new Response(failure.body, { status: failure.status, headers });
    }
    return jsonResponse(failure.body, failure.status, headers);
  }
}
