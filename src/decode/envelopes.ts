/**
 * The envelope layer of the stream decoders: picks the framing from a
 * response's Content-Type and turns its bytes into validated
 * {@linkcode EventEnvelope}s in a single `TransformStream`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventEnvelope } from "../envelope.ts";
import { createEnvelopeDecoder, type StreamFraming } from "./envelope_decoder.ts";
import { parserTransformer } from "./parser_stream.ts";
import { type InvalidInputHandler, type LineLimitOptions, maxLineBytesOf } from "./types.ts";

export type { StreamFraming };

/**
 * Returns the framing a response's Content-Type announces, ignoring
 * parameters and case: `application/x-ndjson` and `application/jsonl` are
 * NDJSON, `text/event-stream` is SSE. A missing or empty Content-Type means
 * NDJSON, the documented framing; any other type gives `undefined`.
 *
 * @example
 * ```ts
 * import { framingForContentType } from "./envelopes.ts";
 *
 * framingForContentType("text/event-stream; charset=utf-8"); // "sse"
 * framingForContentType(null); // "ndjson"
 * framingForContentType("text/html"); // undefined
 * ```
 */
export function framingForContentType(contentType: string | null): StreamFraming | undefined {
  if (contentType === null) return "ndjson";
  const semicolon = contentType.indexOf(";");
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon))
    .trim().toLowerCase();
  switch (type) {
    case "":
    case "application/x-ndjson":
    case "application/jsonl":
      return "ndjson";
    case "text/event-stream":
      return "sse";
    default:
      return undefined;
  }
}

/** Options of {@linkcode EnvelopeDecoderStream}. */
export interface EnvelopeDecoderOptions extends LineLimitOptions {
  /**
   * Told about every NDJSON line or SSE `data` that is not JSON or not an
   * envelope; it is skipped. A handler that throws is ignored.
   */
  onInvalid?: InvalidInputHandler;
  /** SSE only: told the reconnection time of each valid `retry` field. */
  onRetry?: (ms: number) => void;
}

/**
 * Decodes a stream body into {@linkcode EventEnvelope}s: NDJSON, one
 * envelope per line, or SSE, one envelope JSON per event's `data`. Every
 * SSE event type is accepted as long as its data is an envelope, since the
 * envelope's `name` is what identifies the event. Input that is not JSON or
 * not an envelope goes to `onInvalid` and is skipped; a line or SSE event
 * larger than `maxLineBytes` errors the stream with a `StreamProtocolError`.
 *
 * Byte parsing, JSON parsing and validation happen in one stream step.
 *
 * @example Decode a response by its Content-Type
 * ```ts
 * import { EnvelopeDecoderStream, framingForContentType } from "./envelopes.ts";
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
  constructor(framing: StreamFraming, options: EnvelopeDecoderOptions = {}) {
    if (framing !== "ndjson" && framing !== "sse") {
      throw new TypeError(
        `Cannot create decoder: framing must be "ndjson" or "sse", current value is ${
          JSON.stringify(framing)
        }`,
      );
    }
    const max = maxLineBytesOf(options);
    // Created before `this` exists, because the parser callbacks need it.
    const resume = new ResumePoint();
    super(parserTransformer<EventEnvelope>((controller) => {
      resume.controller = controller;
      return createEnvelopeDecoder(framing, max, {
        onEnvelope: (envelope, resumeId) => {
          controller.enqueue(envelope);
          resume.emitted(resumeId);
        },
        onInvalid: options.onInvalid,
        onRetry: options.onRetry,
      });
    }, () => resume.settle()));
    this.#resume = resume;
  }

  /**
   * The ID to resume from, as of the last envelope the reader has received:
   * for SSE, the SSE last-event-ID buffer at that envelope (it persists
   * across events); for NDJSON, the last string `id` among the envelopes
   * received. `undefined` until there is one; `""` once SSE reset it with an
   * empty `id` (then resume without `Last-Event-ID`).
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
 * The resume ID after each emitted envelope, settled against what the
 * reader has taken: with the readable side's high-water mark at 0, minus
 * its `desiredSize` is the number of envelopes still queued.
 */
class ResumePoint {
  controller: TransformStreamDefaultController<EventEnvelope> | undefined;
  current: string | undefined;
  #pending: (string | undefined)[] = [];
  #taken = 0;

  emitted(id: string | undefined): void {
    this.#pending.push(id);
  }

  settle(): void {
    const size = this.controller?.desiredSize;
    // null: the stream errored and dropped its queue; keep what was settled.
    if (size === null || size === undefined) return;
    const delivered = this.#pending.length - this.#taken - (size < 0 ? -size : 0);
    if (delivered <= 0) return;
    this.#taken += delivered;
    this.current = this.#pending[this.#taken - 1];
    if (this.#taken === this.#pending.length) {
      this.#pending.length = 0;
      this.#taken = 0;
    }
  }
}
