/**
 * The pending side of request/reply: one entry per correlation ID waiting for
 * its response (or, for scatter-gather, its responses), its deadline, and the
 * counters a requester reports.
 *
 * Entries are plain class instances with prototype methods and their timer
 * calls a shared function, so a pending request costs one object and its
 * promise instead of a nest of closures: a requester may hold thousands.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { timerDelay } from "./async.ts";
import type { EventEnvelope } from "./envelope.ts";
import {
  GatherTimeoutError,
  RequestTimeoutError,
  ResponseError,
  responseErrorOf,
} from "./errors.ts";

/** Outcome counters shared by a requester's entries. */
export interface PendingCounts {
  answered: number;
  failed: number;
  timedOut: number;
}

/** What an entry needs from the requester that owns it. */
export interface PendingOwner {
  readonly counts: PendingCounts;
  /** Forgets the entry: removes it from the map and remembers it settled. */
  forget(entry: PendingEntry): void;
}

/** One correlation ID waiting for responses. */
export abstract class PendingEntry {
  readonly correlationId: string;
  readonly timeout: number;
  readonly owner: PendingOwner;
  readonly #reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Removes the caller's abort listener; set only when a signal was given. */
  unlink: (() => void) | undefined = undefined;

  constructor(
    correlationId: string,
    timeout: number,
    owner: PendingOwner,
    reject: (error: unknown) => void,
  ) {
    this.correlationId = correlationId;
    this.timeout = timeout;
    this.owner = owner;
    this.#reject = reject;
  }

  /** Arms the deadline (clamped as every library timer, so it never fires early). */
  start(): void {
    this.timer = setTimeout(expire, timerDelay(this.timeout), this);
  }

  /** Takes one response with this entry's correlation ID. */
  abstract accept(event: EventEnvelope): void;

  /** The deadline passed. */
  abstract expire(): void;

  /** Settles with `error` (abort, close, listener failure, publish failure). */
  fail(error: unknown): void {
    this.finish();
    this.#reject(error);
  }

  /**
   * Ends the entry's life before it settles: clears its own timer, unhooks
   * the caller's signal and has the owner forget it.
   */
  protected finish(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unlink?.();
    this.unlink = undefined;
    this.owner.forget(this);
  }
}

function expire(entry: PendingEntry): void {
  entry.timer = undefined;
  entry.expire();
}

/** A request waiting for its one response. */
export class PendingRequest extends PendingEntry {
  readonly #resolve: (payload: unknown) => void;

  constructor(
    correlationId: string,
    timeout: number,
    owner: PendingOwner,
    resolve: (payload: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    super(correlationId, timeout, owner, reject);
    this.#resolve = resolve;
  }

  accept(event: EventEnvelope): void {
    // `"error": null` (Go's nil error) or any non-object is a success.
    const error = responseErrorOf(event.error);
    if (error !== undefined) {
      this.owner.counts.failed++;
      this.fail(
        new ResponseError(error, { correlationId: this.correlationId, source: event.source }),
      );
      return;
    }
    this.owner.counts.answered++;
    this.finish();
    this.#resolve(event.payload);
  }

  expire(): void {
    this.owner.counts.timedOut++;
    this.fail(new RequestTimeoutError(this.correlationId, this.timeout));
  }
}

/** What a scatter-gather collected. */
export interface GatherResult {
  /** Every response that arrived, in arrival order (error responses too). */
  responses: EventEnvelope[];
  /** Expected responders that did not answer. */
  missing: string[];
}

/**
 * A scatter-gather collecting responses until all expected responders
 * answered. With expected responders, `minResponses` counts distinct
 * expected sources that answered: a responder answering twice (a
 * redelivery) or a source nobody expected does not stand in for a silent
 * one. Without, it counts responses.
 */
export class PendingGather extends PendingEntry {
  readonly #resolve: (result: GatherResult) => void;
  readonly #expected: ReadonlySet<string>;
  readonly #minResponses: number;
  readonly #responses: EventEnvelope[] = [];
  /** Expected sources that answered so far. */
  readonly #answered = new Set<string>();

  constructor(
    correlationId: string,
    timeout: number,
    owner: PendingOwner,
    expected: ReadonlySet<string>,
    minResponses: number,
    resolve: (result: GatherResult) => void,
    reject: (error: unknown) => void,
  ) {
    super(correlationId, timeout, owner, reject);
    this.#expected = expected;
    this.#minResponses = minResponses;
    this.#resolve = resolve;
  }

  accept(event: EventEnvelope): void {
    this.#responses.push(withWireError(event));
    const source = event.source;
    if (typeof source === "string" && this.#expected.has(source)) this.#answered.add(source);
    if (this.#expected.size > 0 && this.#answered.size === this.#expected.size) this.#succeed();
  }

  expire(): void {
    if (this.#counted() >= this.#minResponses) return this.#succeed();
    this.owner.counts.timedOut++;
    this.fail(
      new GatherTimeoutError(
        this.correlationId,
        this.timeout,
        this.#missing(),
        this.#responses.length,
        this.#minResponses,
        this.#expected.size > 0 ? this.#answered.size : undefined,
      ),
    );
  }

  /** What `minResponses` is measured against (see the class). */
  #counted(): number {
    return this.#expected.size > 0 ? this.#answered.size : this.#responses.length;
  }

  #succeed(): void {
    this.owner.counts.answered++;
    this.finish();
    this.#resolve({ responses: this.#responses, missing: this.#missing() });
  }

  #missing(): string[] {
    return [...this.#expected].filter((source) => !this.#answered.has(source));
  }
}

/**
 * `event` with its `error` as the gather's callers read it (the typed
 * gather's `error === undefined` means a success): no `error` field for
 * `null` or a non-object, `{code, message}` for a malformed object (see
 * `responseErrorOf`). A healthy responder's envelope is kept as it came.
 */
function withWireError(event: EventEnvelope): EventEnvelope {
  const wire: unknown = event.error;
  if (wire === undefined) return event;
  const error = responseErrorOf(wire);
  if (error === wire) return event;
  const { error: _wire, ...rest } = event;
  return error === undefined ? rest : { ...rest, error };
}
