/**
 * One open Events API stream response, read as envelopes.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { BodyReader, type ReadResult } from "./body_reader.ts";
import { unwatchAbort, watchAbort } from "./abort_watch.ts";
import { RESOLVED } from "./async.ts";
import type { EventEnvelope } from "./envelope.ts";
import { EnvelopeParser } from "./decode/envelope_parser.ts";
import type { InvalidInputHandler, StreamFraming } from "./decode/types.ts";
import { TransientError } from "./errors.ts";
import { IdleWatch } from "./idle_watch.ts";
import type { EventSubscription, Settlement } from "./transport.ts";

/**
 * An open HTTP stream, the Events API's {@linkcode EventSubscription}:
 * async-iterate it for envelopes, or take them one at a time with `next()`
 * (calls made together are answered in order). It ends when the server ends
 * the response; it throws {@linkcode TransientError} when the connection
 * breaks, and the abort reason when the caller's signal aborts. Records it
 * cannot use (not JSON, not an envelope, over `maxLineBytes`) are skipped
 * and reported to `onInvalid`. Ending, failing, breaking out of a loop and
 * `return()` all close it.
 */
export interface EventStream extends EventSubscription {
  /** Which framing the server chose. */
  readonly framing: StreamFraming;
  /** HTTP status of the stream response (2xx). */
  readonly status: number;
  /**
   * The resume point as of the last *settled* envelope, counting only
   * envelopes whose predecessors are all settled too: the SSE last-event-ID
   * at its event, or the `id` of the last NDJSON envelope that had one;
   * before any, the ID the stream was opened with. Once every envelope
   * decoded so far is settled, skipped records after them count too (an SSE
   * event dropped as invalid or too large moves it to that event's `id`).
   * Send it as `Last-Event-ID` when reconnecting.
   */
  readonly lastEventId: string | undefined;
  /**
   * Every envelope decoded from the body and not handed out yet, at least
   * one (the body is read when none is waiting), or `undefined` once the
   * stream ended: one promise per body chunk instead of one per envelope.
   */
  nextBatch(): Promise<readonly EventEnvelope[] | undefined>;
}

/** What {@linkcode OpenEventStream} is made of. */
export interface OpenEventStreamParts {
  /** The response body. */
  body: ReadableStream<Uint8Array>;
  /** The response status. */
  status: number;
  /** The framing picked from the Content-Type. */
  framing: StreamFraming;
  /** The bound on one line or SSE event, already validated. */
  maxLineBytes: number;
  /** Told about skipped input. */
  onInvalid?: InvalidInputHandler | undefined;
  /** Aborts the request; the stream owns it from now on. */
  controller: AbortController;
  /**
   * The caller's signal: aborting it aborts `controller` and ends a pending
   * read. The stream listens to it until it closes (one listener, where the
   * caller linking it to `controller` and the stream listening to that
   * would be two).
   */
  signal?: AbortSignal | undefined;
  /** The `Last-Event-ID` the request was sent with. */
  initialEventId: string | undefined;
  /**
   * Settle each envelope as it is handed out, for readers that never call
   * `settle()` (`EventsClient.stream()`): without it the stream would keep
   * every envelope it handed out, waiting for its settlement.
   */
  settleOnTake?: boolean | undefined;
  /** Runs once when the stream closes, however it closes. */
  onClose: () => void;
  /**
   * The longest the stream may wait on the network for its next chunk, in
   * ms (already validated), after which it fails with a `TransientError`
   * of code `idle`; no bound when absent.
   */
  idleTimeout?: number | undefined;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
// Settling over HTTP is bookkeeping done before it returns: it answers
// RESOLVED, one promise for every call (the worker then waits no turn).

/**
 * Reads a fetch response body as envelopes, pulling one body chunk whenever
 * the envelopes decoded from the previous one are used up. The decoder runs
 * inside `next()`, with no stream between it and the reader: handing each
 * envelope through a `TransformStream` costs more than decoding it (see
 * docs/benchmarks.md), and pulling keeps backpressure exact, since nothing
 * is read from the body before the consumer asks.
 */
export class OpenEventStream implements EventStream {
  readonly framing: StreamFraming;
  readonly status: number;
  readonly #source: BodyReader;
  readonly #decoder: EnvelopeParser;
  readonly #controller: AbortController;
  readonly #initialEventId: string | undefined;
  readonly #settleOnTake: boolean;
  readonly #onClose: () => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #idle: IdleWatch | undefined;
  // The decoder's batch, decoded from the current chunk, with the resume ID
  // after each envelope at the same index: the decoder owns both arrays and
  // decides the IDs. `#next` is the first envelope not yet handed out.
  readonly #envelopes: readonly EventEnvelope[];
  readonly #resumeIds: readonly (string | undefined)[];
  #next = 0;
  // Handed out and not yet settled, in delivery order, with the resume ID
  // after each; a settled slot is cleared, and the resume point moves over
  // the cleared prefix. Holds at most the consumer's concurrency.
  #unsettled: (EventEnvelope | undefined)[] = [];
  #unsettledResumeIds: (string | undefined)[] = [];
  #settledPrefix = 0;
  #resumeId: string | undefined;
  #reconnectHint: number | undefined;
  /** A slow `next()` or `nextBatch()` in progress; later calls queue behind it. */
  #pending: Promise<unknown> | undefined;
  #ended = false;
  /** Why reading stopped, reported once the envelopes before it are used up. */
  #failure: { error: unknown } | undefined;
  #closed = false;
  // Closed with envelopes decoded but never handed out: the decoder's
  // resume ID is past them, so it must not become the resume point.
  #abandoned = false;

  constructor(parts: OpenEventStreamParts) {
    this.framing = parts.framing;
    this.status = parts.status;
    this.#controller = parts.controller;
    this.#initialEventId = parts.initialEventId;
    this.#settleOnTake = parts.settleOnTake ?? false;
    this.#onClose = parts.onClose;
    this.#source = new BodyReader(parts.body);
    this.#decoder = new EnvelopeParser(parts.framing, parts.maxLineBytes, {
      onInvalid: parts.onInvalid,
      onRetry: (ms) => this.#reconnectHint = ms,
    }, parts.initialEventId);
    this.#envelopes = this.#decoder.envelopes;
    this.#resumeIds = this.#decoder.resumeIds;
    const idleTimeout = parts.idleTimeout;
    if (idleTimeout !== undefined) {
      this.#idle = new IdleWatch(idleTimeout, () => this.#breakOff(idleError(idleTimeout)));
    }
    // Only the caller's signal or close() abort the controller, and close()
    // cancels the body itself. Not every runtime errors a body that is being
    // read when its request is aborted (Deno does not): cancelling it ends a
    // pending read.
    const signal = parts.signal;
    if (signal === undefined) return;
    this.#signal = signal;
    const onAbort = () => this.#breakOff(signal.reason);
    if (signal.aborted) onAbort();
    else watchAbort(signal, this.#onAbort = onAbort);
  }

  get lastEventId(): string | undefined {
    const caughtUp = this.#next === this.#envelopes.length && this.#unsettled.length === 0 &&
      !this.#abandoned;
    // Seeded from the ID we resumed with, so a reconnect before any new
    // event does not lose the resume point.
    return (caughtUp ? this.#decoder.resumeId : this.#resumeId) ?? this.#initialEventId;
  }

  get reconnectHint(): number | undefined {
    return this.#reconnectHint;
  }

  /**
   * HTTP delivery is at-most-once: every settlement only moves the resume
   * point. `retry` cannot ask the server again, so it counts as settled.
   */
  settle(event: EventEnvelope, _settlement: Settlement): Promise<void> {
    const unsettled = this.#unsettled;
    // Settled in order, as the listener does, the event is the first one.
    const at = unsettled[this.#settledPrefix] === event
      ? this.#settledPrefix
      : unsettled.indexOf(event, this.#settledPrefix);
    if (at === -1) return RESOLVED;
    unsettled[at] = undefined;
    while (this.#settledPrefix < unsettled.length && unsettled[this.#settledPrefix] === undefined) {
      this.#resumeId = this.#unsettledResumeIds[this.#settledPrefix++];
    }
    if (this.#settledPrefix === unsettled.length) {
      unsettled.length = 0;
      this.#unsettledResumeIds.length = 0;
      this.#settledPrefix = 0;
    }
    return RESOLVED;
  }

  /** Nothing to tell an HTTP server: it redelivers nothing. */
  working(_event: EventEnvelope): Promise<void> {
    return RESOLVED;
  }

  /** The Events API never delivers an event twice to one subscription. */
  get redelivers(): false {
    return false;
  }

  /** Always the first delivery. */
  attempt(_event: EventEnvelope): number {
    return 1;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    if (this.#pending === undefined && this.#next < this.#envelopes.length) {
      return Promise.resolve(this.#take());
    }
    return this.#after(() => this.#fill().then((ready) => ready ? this.#take() : DONE));
  }

  /**
   * Every envelope decoded and not yet handed out, at least one: the body
   * is read when none is waiting. `undefined` once the stream ended. One
   * promise per body chunk rather than per envelope, for consumers that
   * loop over what arrived (the listener does). Calls made together with
   * `next()` are answered in order.
   */
  nextBatch(): Promise<readonly EventEnvelope[] | undefined> {
    if (this.#pending === undefined && this.#next < this.#envelopes.length) {
      return Promise.resolve(this.#takeAll());
    }
    return this.#after(() => this.#fill().then((ready) => ready ? this.#takeAll() : undefined));
  }

  async return(): Promise<IteratorResult<EventEnvelope, undefined>> {
    await this.close();
    return DONE;
  }

  /** Runs `step` once the slow call in progress, if any, has settled. */
  #after<T>(step: () => Promise<T>): Promise<T> {
    const pending = this.#pending;
    const run = pending === undefined ? step() : pending.then(step, step);
    this.#pending = run;
    const clear = () => {
      if (this.#pending === run) this.#pending = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /** Hands out the next decoded envelope; the caller checked there is one. */
  #take(): IteratorYieldResult<EventEnvelope> {
    const at = this.#next++;
    const envelope = this.#envelopes[at] as EventEnvelope;
    if (this.#settleOnTake) {
      this.#resumeId = this.#resumeIds[at];
    } else {
      this.#unsettled.push(envelope);
      this.#unsettledResumeIds.push(this.#resumeIds[at]);
    }
    return { done: false, value: envelope };
  }

  /** Hands out every decoded envelope not handed out yet; the caller checked there is one. */
  #takeAll(): EventEnvelope[] {
    const from = this.#next;
    const to = this.#envelopes.length;
    this.#next = to;
    const batch = this.#envelopes.slice(from, to);
    if (this.#settleOnTake) {
      this.#resumeId = this.#resumeIds[to - 1];
    } else if (this.#unsettled.length === 0) {
      // The usual case, everything before settled: two native copies.
      this.#unsettled = this.#envelopes.slice(from, to);
      this.#unsettledResumeIds = this.#resumeIds.slice(from, to);
    } else {
      for (let at = from; at < to; at++) {
        this.#unsettled.push(this.#envelopes[at] as EventEnvelope);
        this.#unsettledResumeIds.push(this.#resumeIds[at]);
      }
    }
    return batch;
  }

  /**
   * Reads body chunks until an envelope is waiting (`true`) or the body
   * ended (`false`); rejects when it fails or the signal aborts.
   */
  async #fill(): Promise<boolean> {
    while (true) {
      if (this.#closed) return false;
      const signal = this.#controller.signal;
      if (signal.aborted) return this.#fail(signal.reason);
      if (this.#next < this.#envelopes.length) return true;
      if (this.#failure) return this.#fail(this.#failure.error);
      if (this.#ended) {
        await this.close();
        return false;
      }
      this.#decoder.clear();
      this.#next = 0;
      let chunk: ReadResult<Uint8Array>;
      this.#idle?.waiting();
      try {
        chunk = await this.#source.read();
      } catch (error) {
        this.#failure = { error };
        continue;
      } finally {
        this.#idle?.answered();
      }
      // Closing or aborting cancels the body, which ends a pending read as
      // if the body were complete: the loop's checks report it instead.
      if (this.#closed || signal.aborted) continue;
      if (chunk.done) {
        this.#ended = true;
        this.#decoder.end();
      } else {
        this.#decoder.feed(chunk.value);
      }
    }
  }

  async #fail(error: unknown): Promise<never> {
    const failure = this.#readFailure(error);
    await this.close();
    throw failure;
  }

  /** Keeps abort reasons as they are; the rest is a disconnect. */
  #readFailure(error: unknown): unknown {
    const signal = this.#controller.signal;
    if (signal.aborted) return signal.reason;
    if (error instanceof TransientError) return error;
    // Node's fetch reports a server-side cut as `TypeError: terminated`.
    return new TransientError("Cannot read stream: the connection broke", {
      code: "disconnected",
      cause: error,
    });
  }

  /**
   * Drops the connection with `reason` as the stream's failure: a pending
   * read ends, and the next read reports `reason` once the envelopes
   * decoded before it are used up.
   */
  #breakOff(reason: unknown): void {
    this.#controller.abort(reason);
    this.#source.cancel(reason).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#idle?.stop();
    if (this.#onAbort !== undefined) unwatchAbort(this.#signal, this.#onAbort);
    this.#onClose();
    if (this.#next < this.#envelopes.length) this.#abandoned = true;
    this.#decoder.clear();
    this.#next = 0;
    // Both: some runtimes do not abort the request on cancel (Bun), and
    // Deno's sanitizers want every body cancelled.
    this.#controller.abort(new DOMException("The stream was closed", "AbortError"));
    await this.#source.cancel().catch(() => {});
  }
}

/** The failure of a stream that waited `timeout` ms for its next chunk. */
function idleError(timeout: number): TransientError {
  return new TransientError(
    `Cannot read stream: nothing arrived for ${timeout} ms (the client's idleTimeout)`,
    { code: "idle" },
  );
}

/**
 * An iterator over the stream `open` resolves to, opened on the first
 * `next()`. It hands each `next()` straight to the open stream: wrapping it
 * in an async generator (`yield*`) costs a second promise per envelope.
 */
export function openOnFirstRead(
  open: () => Promise<EventStream>,
): AsyncIterableIterator<EventEnvelope, undefined> {
  let stream: EventStream | undefined;
  let opening: Promise<EventStream | undefined> | undefined;
  let finished = false;
  const opened = () =>
    opening ??= open().then((opened) => {
      stream = opened;
      if (finished) return opened.close().then(() => undefined);
      return opened;
    }, (error) => {
      finished = true;
      throw error;
    });
  return {
    next() {
      if (stream !== undefined) return stream.next();
      if (finished) return Promise.resolve(DONE);
      return opened().then((opened) => opened === undefined ? DONE : opened.next());
    },
    async return() {
      finished = true;
      // Opening may still be under way: the stream is closed as soon as it exists.
      await (stream ?? await opening?.catch(() => undefined))?.close();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
