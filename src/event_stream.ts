/**
 * One open Events API stream response, read as envelopes.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventEnvelope } from "./envelope.ts";
import type { EnvelopeDecoderStream, StreamFraming } from "./decode/envelopes.ts";
import { StreamProtocolError, TransientError } from "./errors.ts";

/**
 * An open stream: async-iterate it for envelopes. It ends when the server
 * ends the response; it throws {@linkcode TransientError} when the
 * connection breaks, {@linkcode StreamProtocolError} on an oversized line, and
 * the abort reason when the caller's signal aborts.
 */
export interface EventStream extends AsyncIterable<EventEnvelope> {
  /** Which framing the server chose. */
  readonly framing: StreamFraming;
  /** HTTP status of the stream response (2xx). */
  readonly status: number;
  /**
   * The resume point: the SSE last-event-ID, or the `id` of the last NDJSON
   * envelope that had one. Send it as `Last-Event-ID` when reconnecting.
   */
  readonly lastEventId: string | undefined;
  /** Stops reading: aborts the request and cancels the body. Idempotent. */
  close(): Promise<void>;
}

/**
 * What `reader.read()` resolves with. The DOM lib calls it
 * `ReadableStreamReadResult`, a name `@types/node` does not declare globally.
 */
type ReadResult<T> = Awaited<ReturnType<ReadableStreamDefaultReader<T>["read"]>>;

/** What {@linkcode OpenEventStream} is made of. */
export interface OpenEventStreamParts {
  /** The response body. */
  body: ReadableStream<Uint8Array>;
  /** The response status. */
  status: number;
  /** The framing picked from the Content-Type. */
  framing: StreamFraming;
  /** The decoder matching `framing`. */
  decoder: EnvelopeDecoderStream;
  /** Aborts the request; the stream owns it from now on. */
  controller: AbortController;
  /** The `Last-Event-ID` the request was sent with. */
  initialEventId: string | undefined;
  /** Runs once when the stream closes, however it closes. */
  onClose: () => void;
}

/** Wires a fetch response body, its request's controller and the decoder. */
export class OpenEventStream implements EventStream {
  readonly framing: StreamFraming;
  readonly status: number;
  readonly #decoder: EnvelopeDecoderStream;
  readonly #reader: ReadableStreamDefaultReader<EventEnvelope>;
  readonly #controller: AbortController;
  readonly #initialEventId: string | undefined;
  readonly #onClose: () => void;
  #closed = false;
  /** Why the connection broke, once it has; reported after what arrived before it. */
  #broken: { error: unknown } | undefined;

  constructor(parts: OpenEventStreamParts) {
    this.framing = parts.framing;
    this.status = parts.status;
    this.#decoder = parts.decoder;
    this.#controller = parts.controller;
    this.#initialEventId = parts.initialEventId;
    this.#onClose = parts.onClose;
    this.#reader = parts.decoder.readable.getReader();
    const source = parts.body.getReader();
    const sink = parts.decoder.writable.getWriter();
    // Not every runtime errors a body that is being read when its request is
    // aborted (Deno does not), so an abort tears both sides down itself.
    const signal = parts.controller.signal;
    const onAbort = () => {
      source.cancel(signal.reason).catch(() => {});
      sink.abort(signal.reason).catch(() => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.#pump(source, sink).catch(() => {}).finally(() => {
      signal.removeEventListener("abort", onAbort);
    });
  }

  /**
   * Feeds the body to the decoder. Unlike `pipeThrough`, a broken connection
   * does not discard envelopes already decoded: the decoder is closed so they
   * are read first, and the break is reported after them.
   */
  async #pump(
    source: ReadableStreamDefaultReader<Uint8Array>,
    sink: WritableStreamDefaultWriter<Uint8Array>,
  ) {
    try {
      while (true) {
        let chunk: ReadResult<Uint8Array>;
        try {
          chunk = await source.read();
        } catch (error) {
          if (this.#controller.signal.aborted) return; // torn down by onAbort
          this.#broken = { error };
          await sink.close();
          return;
        }
        if (chunk.done) {
          await sink.close();
          return;
        }
        // Rejects when the decoder failed (oversized line) or the reader was
        // cancelled; the decoded side already carries that outcome.
        await sink.write(chunk.value);
      }
    } catch {
      await source.cancel().catch(() => {});
    }
  }

  get lastEventId(): string | undefined {
    // Seeded from the ID we resumed with, so a reconnect before any new
    // event does not lose the resume point.
    return this.#decoder.lastEventId ?? this.#initialEventId;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<EventEnvelope, void, undefined> {
    try {
      while (true) {
        let result: ReadResult<EventEnvelope>;
        try {
          result = await this.#reader.read();
        } catch (error) {
          throw this.#readFailure(error);
        }
        if (result.done) {
          if (this.#broken) throw this.#readFailure(this.#broken.error);
          return;
        }
        yield result.value;
      }
    } finally {
      await this.close();
    }
  }

  /** Keeps abort reasons and protocol errors as they are; the rest is a disconnect. */
  #readFailure(error: unknown): unknown {
    const signal = this.#controller.signal;
    if (signal.aborted) return signal.reason;
    if (error instanceof StreamProtocolError || error instanceof TransientError) return error;
    // Node's fetch reports a server-side cut as `TypeError: terminated`.
    return new TransientError("Cannot read stream: the connection broke", {
      code: "disconnected",
      cause: error,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    // Both: some runtimes do not abort the request on cancel (Bun), and
    // Deno's sanitizers want every body cancelled.
    this.#controller.abort(new DOMException("The stream was closed", "AbortError"));
    await this.#reader.cancel().catch(() => {});
  }
}
