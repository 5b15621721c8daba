/**
 * NDJSON decoding: bytes in, one parsed JSON value per line out, with a
 * bound on the line size.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { StreamProtocolError } from "../errors.ts";
import { type ByteParser, parserTransformer } from "./parser_stream.ts";
import {
  type InvalidInputHandler,
  type LineLimitOptions,
  maxLineBytesOf,
  report,
} from "./types.ts";
import { CarryOver, exceedsUtf8, utf8ByteLength, Utf8Decoder } from "./utf8.ts";

/** Options of {@linkcode NdjsonParserStream}. */
export interface NdjsonParserOptions extends LineLimitOptions {
  /** Told about every line that is not valid JSON; the line is skipped. */
  onInvalid?: InvalidInputHandler;
}

const CR = 13;

/** Callbacks of {@linkcode NdjsonParser}. */
export interface NdjsonParserCallbacks {
  /** One parsed line; `line` is its text, for callers that report on it. */
  onValue: (value: unknown, line: string) => void;
  /** A line that is not valid JSON. */
  onInvalid?: InvalidInputHandler | undefined;
}

/**
 * The transport-free NDJSON state machine behind
 * {@linkcode NdjsonParserStream}: feed it bytes, it calls back per line.
 */
export class NdjsonParser implements ByteParser {
  readonly #decoder = new Utf8Decoder();
  readonly #max: number;
  // Lines up to this many UTF-16 units fit for sure (a unit is at most 3 bytes).
  readonly #cheapUnits: number;
  // One more than the limit: a held line may end in the "\r" of a CRLF that
  // is not part of the line.
  readonly #carry: CarryOver;
  readonly #onValue: (value: unknown, line: string) => void;
  readonly #onInvalid: InvalidInputHandler | undefined;

  /** Creates a parser that allows lines of at most `maxLineBytes` UTF-8 bytes. */
  constructor(maxLineBytes: number, callbacks: NdjsonParserCallbacks) {
    this.#max = maxLineBytes;
    this.#cheapUnits = Math.floor(maxLineBytes / 3);
    this.#carry = new CarryOver(maxLineBytes + 1);
    this.#onValue = callbacks.onValue;
    this.#onInvalid = callbacks.onInvalid;
  }

  /** Parses the complete lines of `chunk` and holds back the rest. */
  feed(chunk: Uint8Array): void {
    const text = this.#decoder.decode(chunk);
    let start = 0;
    let newline = text.indexOf("\n");
    if (!this.#carry.empty) {
      if (newline === -1) {
        if (!this.#carry.push(text)) this.#overflow(this.#carry.byteLength);
        return;
      }
      if (!this.#carry.push(text.slice(0, newline))) this.#overflow(this.#carry.byteLength);
      const line = this.#carry.take();
      this.#line(line, 0, line.length);
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    while (newline !== -1) {
      this.#line(text, start, newline);
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    if (start < text.length) {
      if (!this.#carry.push(start === 0 ? text : text.slice(start))) {
        this.#overflow(this.#carry.byteLength);
      }
    }
  }

  /** Parses the last line, which needs no newline. */
  end(): void {
    const rest = this.#decoder.flush();
    if (!this.#carry.push(rest)) this.#overflow(this.#carry.byteLength);
    if (this.#carry.empty) return;
    const line = this.#carry.take();
    this.#line(line, 0, line.length);
  }

  #line(text: string, start: number, end: number): void {
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    if (end === start) return;
    if (end - start > this.#cheapUnits && exceedsUtf8(text, start, end, this.#max)) {
      this.#overflow(utf8ByteLength(text, start, end));
    }
    const line = start === 0 && end === text.length ? text : text.slice(start, end);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      // Whitespace-only lines are heartbeats; checking only after a failed
      // parse keeps the common path to a single JSON.parse.
      if (line.trim() !== "") this.#invalid(line, error);
      return;
    }
    this.#onValue(value, line);
  }

  #invalid(line: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    report(this.#onInvalid, `invalid JSON: ${message}`, line);
  }

  /** Drops the held line and throws; `size` is how much of the line was read. */
  #overflow(size: number): never {
    this.#carry.clear();
    throw new StreamProtocolError({ framing: "ndjson", oversized: "line", limit: this.#max, size });
  }
}

/**
 * Decodes an NDJSON byte stream into one `JSON.parse`d value per line.
 *
 * Lines end with LF or CRLF. Blank and whitespace-only lines are skipped
 * (servers send them as heartbeats), a last line without a newline is still
 * parsed, and a line that is not JSON goes to `onInvalid` and is skipped. A
 * line longer than `maxLineBytes` UTF-8 bytes, even one that has not ended
 * yet, errors the stream with a `StreamProtocolError`.
 *
 * @example Read values from a response body
 * ```ts
 * import { NdjsonParserStream } from "./ndjson.ts";
 *
 * const body = new Response('{"a":1}\n\n{"a":2}\n').body!;
 * const values = [];
 * for await (const value of body.pipeThrough(new NdjsonParserStream())) values.push(value);
 * // values: [{ a: 1 }, { a: 2 }]
 * ```
 */
export class NdjsonParserStream extends TransformStream<Uint8Array, unknown> {
  /** Creates the stream; throws `RangeError` for a bad `maxLineBytes`. */
  constructor(options: NdjsonParserOptions = {}) {
    const max = maxLineBytesOf(options);
    super(parserTransformer<unknown>((controller) =>
      new NdjsonParser(max, {
        onValue: (value) => controller.enqueue(value),
        onInvalid: options.onInvalid,
      })
    ));
  }
}
