/**
 * NDJSON decoding: bytes in, one parsed JSON value per line out, with a
 * bound on the line size.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type ByteParser, parserTransformer } from "./parser_stream.ts";
import {
  extendExcerpt,
  type InvalidInputHandler,
  type LineLimitOptions,
  maxLineBytesOf,
  report,
  tooLarge,
  unusable,
} from "./types.ts";
import { CarryOver, exceedsUtf8, utf8ByteLength, Utf8Decoder } from "./utf8.ts";

/** Options of {@linkcode NdjsonParserStream}. */
export interface NdjsonParserOptions extends LineLimitOptions {
  /**
   * Told about every line that is not valid JSON or is over `maxLineBytes`;
   * the line is skipped. A handler that throws is ignored.
   */
  onInvalid?: InvalidInputHandler;
}

const CR = 13;
const WHAT = "NDJSON line";

/** Callbacks of {@linkcode NdjsonParser}. */
export interface NdjsonParserCallbacks {
  /** One parsed line; `line` is its text, for callers that report on it. */
  onValue: (value: unknown, line: string) => void;
  /** A line that is not valid JSON, or one over `maxLineBytes`. */
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
  // An oversized line being discarded up to its newline: the bytes read of
  // it (-1 when none is), its start for the report, and whether the last
  // byte read was a CR, which a newline right after makes a line end.
  #skipped = -1;
  #skippedStart = "";
  #skippedCr = false;

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
    if (this.#skipped >= 0) start = this.#skip(text);
    else if (!this.#carry.empty) start = this.#finishCarried(text);
    if (start === -1) return;
    let newline = text.indexOf("\n", start);
    while (newline !== -1) {
      this.#line(text, start, newline);
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    if (start < text.length) this.#hold(start === 0 ? text : text.slice(start));
  }

  /** Parses the last line, which needs no newline. */
  end(): void {
    const rest = this.#decoder.flush();
    if (this.#skipped >= 0) {
      this.#discard(rest, 0, rest.length);
      this.#endSkip();
      return;
    }
    this.#hold(rest);
    if (this.#skipped >= 0) {
      this.#endSkip();
      return;
    }
    if (this.#carry.empty) return;
    const line = this.#carry.take();
    this.#line(line, 0, line.length);
  }

  /** Ends the held line with the start of `text`; returns where the next line starts, or -1. */
  #finishCarried(text: string): number {
    const newline = text.indexOf("\n");
    this.#hold(newline === -1 ? text : text.slice(0, newline));
    if (newline === -1) return -1;
    if (this.#skipped >= 0) {
      this.#endSkip();
    } else {
      const line = this.#carry.take();
      this.#line(line, 0, line.length);
    }
    return newline + 1;
  }

  /** Holds the start of an unfinished line; one that outgrows the bound starts a skip. */
  #hold(text: string): void {
    if (this.#carry.push(text)) return;
    this.#skipped = this.#carry.byteLength;
    this.#skippedCr = this.#carry.lastCharCode === CR;
    this.#skippedStart = this.#carry.head();
    this.#carry.clear();
  }

  /** Discards `text` up to the skipped line's newline; returns where the next line starts, or -1. */
  #skip(text: string): number {
    const newline = text.indexOf("\n");
    this.#discard(text, 0, newline === -1 ? text.length : newline);
    if (newline === -1) return -1;
    this.#endSkip();
    return newline + 1;
  }

  #discard(text: string, start: number, end: number): void {
    if (end === start) return;
    this.#skipped += utf8ByteLength(text, start, end);
    this.#skippedCr = text.charCodeAt(end - 1) === CR;
    this.#skippedStart = extendExcerpt(this.#skippedStart, text, start, end);
  }

  /** Reports the skipped line; a CR that ended it is no part of it. */
  #endSkip(): void {
    const size = this.#skippedCr ? this.#skipped - 1 : this.#skipped;
    const held = this.#skippedStart;
    const start = this.#skippedCr && held.endsWith("\r") ? held.slice(0, -1) : held;
    this.#skipped = -1;
    this.#skippedStart = "";
    this.#skippedCr = false;
    report(this.#onInvalid, tooLarge(WHAT, size, this.#max, start));
  }

  #line(text: string, start: number, end: number): void {
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    if (end === start) return;
    if (end - start > this.#cheapUnits && exceedsUtf8(text, start, end, this.#max)) {
      const size = utf8ByteLength(text, start, end);
      report(
        this.#onInvalid,
        tooLarge(WHAT, size, this.#max, extendExcerpt("", text, start, end)),
      );
      return;
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
    report(this.#onInvalid, unusable("invalid-json", `invalid JSON: ${message}`, line));
  }
}

/**
 * Decodes an NDJSON byte stream into one `JSON.parse`d value per line.
 *
 * Lines end with LF or CRLF. Blank and whitespace-only lines are skipped
 * (servers send them as heartbeats), a last line without a newline is still
 * parsed, and a line that is not JSON goes to `onInvalid` and is skipped. A
 * line longer than `maxLineBytes` UTF-8 bytes is skipped too: once it
 * outgrows the bound, even before it ends, its bytes are discarded as they
 * arrive up to its newline, and `onInvalid` hears of it (kind `too-large`,
 * with its `size`) when it ends.
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
  constructor(options?: NdjsonParserOptions) {
    options ??= {};
    const max = maxLineBytesOf(options);
    super(parserTransformer<unknown>((controller) =>
      new NdjsonParser(max, {
        onValue: (value) => controller.enqueue(value),
        onInvalid: options.onInvalid,
      })
    ));
  }
}
