/**
 * The public envelope decoder: {@linkcode EnvelopeDecoderStream}, the
 * `TransformStream` that turns a stream body into validated
 * {@linkcode EventEnvelope}s and tracks the resume point of what its reader
 * has received. The parsing is the {@linkcode EnvelopeParser} the client
 * uses too.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventEnvelope } from "../envelope.ts";
import { EnvelopeParser } from "./envelope_parser.ts";
import { type ByteParser, parserTransformer } from "./parser_stream.ts";
import {
  type InvalidInputHandler,
  type LineLimitOptions,
  maxLineBytesOf,
  type StreamFraming,
} from "./types.ts";

/** Options of {@linkcode EnvelopeDecoderStream}. */
export interface EnvelopeDecoderOptions extends LineLimitOptions {
  /**
   * Told about every NDJSON line or SSE event that is skipped: not JSON, not
   * an envelope, or over `maxLineBytes` (see `InvalidInput.kind`). A handler
   * that throws is ignored.
   */
  onInvalid?: InvalidInputHandler;
  /** SSE only: told the reconnection time of each valid `retry` field. */
  onRetry?: (ms: number) => void;
}

/**
 * Decodes a stream body into {@linkcode EventEnvelope}s: NDJSON, one
 * envelope per line, or SSE, one envelope JSON per event's `data`. Every
 * SSE event type is accepted as long as its data is an envelope, since the
 * envelope's `name` is what identifies the event. Input that is not JSON,
 * not an envelope, or a line or SSE event larger than `maxLineBytes` goes to
 * `onInvalid` and is skipped (an oversized record's bytes are discarded as
 * they arrive), and the records after it are decoded as usual.
 *
 * Byte parsing, JSON parsing and validation happen in one stream step.
 *
 * @example Decode a response by its Content-Type
 * ```ts
 * import { EnvelopeDecoderStream } from "./envelope_stream.ts";
 * import { framingForContentType } from "../content_type.ts";
 *
 * const response = new Response('id: 7\ndata: {"id":"7","name":"example.ping"}\n\n', {
 *   headers: { "content-type": "text/event-stream" },
 * });
 * const framing = framingForContentType(response.headers.get("content-type")) ?? "ndjson";
 * let skipped = 0;
 * const decoder = new EnvelopeDecoderStream(framing, { onInvalid: () => skipped++ });
 * for await (const envelope of response.body!.pipeThrough(decoder)) {
 *   // envelope.name === "example.ping"
 * }
 * decoder.lastEventId; // "7": send it as Last-Event-ID when reconnecting
 * ```
 */
export class EnvelopeDecoderStream extends TransformStream<Uint8Array, EventEnvelope> {
  readonly #resume: ResumePoint;

  /**
   * Creates the stream.
   *
   * @throws {TypeError} When `framing` is neither `"ndjson"` nor `"sse"`.
   * @throws {RangeError} When `maxLineBytes` is not a positive integer.
   */
  constructor(framing: StreamFraming, options?: EnvelopeDecoderOptions) {
    options ??= {};
    if (framing !== "ndjson" && framing !== "sse") {
      throw new TypeError(
        `Cannot create decoder: framing must be "ndjson" or "sse", current value is ${
          JSON.stringify(framing)
        }`,
      );
    }
    const parser = new EnvelopeParser(framing, maxLineBytesOf(options), {
      onInvalid: options.onInvalid,
      onRetry: options.onRetry,
    });
    // Created before `this` exists, because the transformer needs it.
    const resume = new ResumePoint(parser);
    super(parserTransformer<EventEnvelope>((controller) => {
      resume.controller = controller;
      return resume;
    }, () => resume.settle()));
    this.#resume = resume;
  }

  /**
   * The ID to resume from, as of the last envelope the reader has received:
   * for SSE, the SSE last-event-ID buffer at that envelope (it persists
   * across events); for NDJSON, the last string `id` among the envelopes
   * received. Once the reader has received every envelope decoded so far,
   * skipped records after them count too (an SSE event whose data is not an
   * envelope or is too large moves it to its own `id`), so resuming never
   * fetches them again. `undefined` until there is one; `""` once SSE reset
   * it with an empty `id` (then resume without `Last-Event-ID`).
   *
   * Envelopes still queued in the stream do not count, so when the body
   * fails and the stream drops them, resuming from here fetches them again
   * instead of skipping them. Envelopes dropped because the reader cancelled
   * the stream do count.
   */
  get lastEventId(): string | undefined {
    this.#resume.settle();
    return this.#resume.current;
  }
}

/**
 * Feeds the parser, enqueues what it decodes, and settles the resume point
 * against what the reader has taken. It keeps no IDs of its own: the
 * parser's batch holds the resume ID of every envelope, and is cleared only
 * once the reader has taken all of it. With the readable side's high-water
 * mark at 0, minus its `desiredSize` is the number of envelopes still queued.
 */
class ResumePoint implements ByteParser {
  controller: TransformStreamDefaultController<EventEnvelope> | undefined;
  current: string | undefined;
  readonly #parser: EnvelopeParser;
  // Of the parser's batch: how many are enqueued, and how many of those the
  // reader has taken.
  #enqueued = 0;
  #taken = 0;

  constructor(parser: EnvelopeParser) {
    this.#parser = parser;
  }

  feed(chunk: Uint8Array): void {
    this.#parser.feed(chunk);
    this.#enqueue();
  }

  end(): void {
    this.#parser.end();
    this.#enqueue();
  }

  settle(): void {
    const size = this.controller?.desiredSize;
    // null: the stream errored and dropped its queue; keep what was settled.
    if (size === null || size === undefined) return;
    const delivered = this.#enqueued - this.#taken - (size < 0 ? -size : 0);
    if (delivered > 0) {
      this.#taken += delivered;
      this.current = this.#parser.resumeIds[this.#taken - 1];
    }
    // Compared with the whole batch, not with what is enqueued: a settle
    // from inside `feed` (an `onInvalid` handler reading `lastEventId`) must
    // never clear envelopes the parser appended and that are not enqueued yet.
    if (this.#taken === this.#parser.envelopes.length) {
      // Everything decoded was received: skipped records after it count too.
      this.current = this.#parser.resumeId ?? this.current;
      this.#parser.clear();
      this.#enqueued = 0;
      this.#taken = 0;
    }
  }

  #enqueue(): void {
    const controller = this.controller as TransformStreamDefaultController<EventEnvelope>;
    const envelopes = this.#parser.envelopes;
    for (let i = this.#enqueued; i < envelopes.length; i++) {
      controller.enqueue(envelopes[i] as EventEnvelope);
    }
    this.#enqueued = envelopes.length;
  }
}
