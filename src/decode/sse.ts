/**
 * Server-Sent Events decoding, following the WHATWG HTML rules for
 * "interpreting an event stream", with a bound on line and event size.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { StreamProtocolError } from "../errors.ts";
import { type ByteParser, parserTransformer } from "./parser_stream.ts";
import { type LineLimitOptions, maxLineBytesOf, type SseMessage } from "./types.ts";
import { CarryOver, exceedsUtf8, utf8ByteLength, Utf8Decoder } from "./utf8.ts";

/** Options of {@linkcode SseParserStream}. */
export interface SseParserOptions extends LineLimitOptions {
  /** Told the reconnection time, in milliseconds, of each valid `retry` field. */
  onRetry?: (ms: number) => void;
}

/** Callbacks of {@linkcode SseParser}. */
export interface SseParserCallbacks {
  /**
   * One dispatched event, as three arguments so that callers that need no
   * message object do not pay for one.
   */
  onEvent: (event: string, data: string, lastEventId: string) => void;
  /** A valid `retry` field. */
  onRetry?: ((ms: number) => void) | undefined;
}

const LF = 10;
const SPACE = 32;
const COLON = 58;
const D = 100;
const E = 101;
const I = 105;
const R = 114;
const DIGITS = /^[0-9]+$/;

/**
 * The transport-free SSE state machine behind {@linkcode SseParserStream}:
 * feed it bytes, it calls back per dispatched event.
 */
export class SseParser implements ByteParser {
  readonly #decoder = new Utf8Decoder();
  readonly #max: number;
  // Lines up to this many UTF-16 units fit for sure (a unit is at most 3 bytes).
  readonly #cheapUnits: number;
  readonly #carry: CarryOver;
  readonly #onEvent: (event: string, data: string, lastEventId: string) => void;
  readonly #onRetry: ((ms: number) => void) | undefined;
  // The previous chunk ended in "\r": a "\n" that starts the next one is the
  // rest of that CRLF, not a blank line.
  #skipLf = false;
  #data = "";
  #dataLines = 0;
  // UTF-16 length of #data, and its exact UTF-8 size once the cheap bound no
  // longer proves the limit holds (-1 before that).
  #dataUnits = 0;
  #dataBytes = -1;
  #eventType = "";
  #lastEventId = "";

  /** Creates a parser that allows lines and events of at most `maxLineBytes` UTF-8 bytes. */
  constructor(maxLineBytes: number, callbacks: SseParserCallbacks) {
    this.#max = maxLineBytes;
    this.#cheapUnits = Math.floor(maxLineBytes / 3);
    this.#carry = new CarryOver(maxLineBytes);
    this.#onEvent = callbacks.onEvent;
    this.#onRetry = callbacks.onRetry;
  }

  /** The last-event-ID buffer: set by `id` fields, kept across events. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Parses the complete lines of `chunk` and holds back the rest. */
  feed(chunk: Uint8Array): void {
    this.#text(this.#decoder.decode(chunk));
  }

  /** Ends the input: an unfinished line or event is discarded, as the spec says. */
  end(): void {
    this.#text(this.#decoder.flush());
    this.#carry.clear();
    this.#resetEvent();
  }

  #text(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let start = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    if (!this.#carry.empty) {
      start = this.#finishCarried(text, start);
      if (start === -1) return;
    }
    start = text.indexOf("\r", start) === -1
      ? this.#linesLf(text, start)
      : this.#lines(text, start);
    if (start < length && !this.#carry.push(start === 0 ? text : text.slice(start))) {
      this.#overflow("line", this.#carry.byteLength);
    }
  }

  /** Ends the held line with the start of `text`; returns where the next line starts. */
  #finishCarried(text: string, start: number): number {
    const lf = text.indexOf("\n", start);
    const cr = text.indexOf("\r", start);
    const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
    if (!this.#carry.push(end === -1 ? text.slice(start) : text.slice(start, end))) {
      this.#overflow("line", this.#carry.byteLength);
    }
    if (end === -1) return -1;
    const line = this.#carry.take();
    this.#line(line, 0, line.length);
    return this.#after(text, end);
  }

  /** Where the line after the terminator at `end` starts; notes a CR that ends `text`. */
  #after(text: string, end: number): number {
    if (text.charCodeAt(end) === LF) return end + 1;
    if (end + 1 === text.length) this.#skipLf = true;
    return text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
  }

  /** The usual case: no CR in the chunk, so only LF ends lines. */
  #linesLf(text: string, start: number): number {
    for (let lf = text.indexOf("\n", start); lf !== -1; lf = text.indexOf("\n", start)) {
      if (lf === start) {
        this.#dispatch();
      } else if (text.charCodeAt(lf + 1) !== LF) {
        this.#line(text, start, lf);
      } else {
        // Most events end "…\n\n": the blank line is taken without another
        // search, and a lone `data` line goes out without the data buffer.
        if (
          this.#dataLines === 0 && text.charCodeAt(start) === D && isField(text, start, lf, "data")
        ) {
          this.#checkLine(text, start, lf);
          this.#onEvent(this.#takeType(), value(text, start + 4, lf), this.#lastEventId);
        } else {
          this.#line(text, start, lf);
          this.#dispatch();
        }
        start = lf + 2;
        continue;
      }
      start = lf + 1;
    }
    return start;
  }

  /** Lines ending in CR, LF or CRLF; both searches are remembered. */
  #lines(text: string, start: number): number {
    let cr = text.indexOf("\r", start);
    let lf = text.indexOf("\n", start);
    while (cr !== -1 || lf !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end === start) this.#dispatch();
      else this.#line(text, start, end);
      start = this.#after(text, end);
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start);
    }
    return start;
  }

  #checkLine(text: string, start: number, end: number): void {
    if (end - start > this.#cheapUnits && exceedsUtf8(text, start, end, this.#max)) {
      this.#overflow("line", utf8ByteLength(text, start, end));
    }
  }

  /** One non-empty line. */
  #line(text: string, start: number, end: number): void {
    this.#checkLine(text, start, end);
    // Only four field names mean anything, so instead of searching for the
    // colon (which may be far away, or absent) each name is matched in place.
    switch (text.charCodeAt(start)) {
      case D:
        if (isField(text, start, end, "data")) this.#appendData(value(text, start + 4, end));
        return;
      case I:
        if (isField(text, start, end, "id")) {
          const id = value(text, start + 2, end);
          if (id.indexOf("\0") === -1) this.#lastEventId = id;
        }
        return;
      case E:
        if (isField(text, start, end, "event")) this.#eventType = value(text, start + 5, end);
        return;
      case R:
        if (isField(text, start, end, "retry")) this.#retry(value(text, start + 5, end));
        return;
      default:
        // Comments (":…") and unknown fields are ignored.
        return;
    }
  }

  #appendData(data: string): void {
    // Joining with "\n" as lines arrive equals the spec's "append data and a
    // LF, drop the last LF at dispatch"; engines concatenate as ropes, so this
    // stays linear.
    if (this.#dataLines === 0) {
      this.#data = data;
      this.#dataUnits = data.length;
    } else {
      this.#data = `${this.#data}\n${data}`;
      this.#dataUnits += data.length + 1;
    }
    this.#dataLines++;
    if (this.#dataUnits * 3 > this.#max) this.#checkData(data);
  }

  #checkData(appended: string): void {
    if (this.#dataUnits > this.#max) this.#overflow("event", utf8ByteLength(this.#data));
    if (this.#dataBytes < 0) this.#dataBytes = utf8ByteLength(this.#data);
    else this.#dataBytes += utf8ByteLength(appended) + 1;
    if (this.#dataBytes > this.#max) this.#overflow("event", this.#dataBytes);
  }

  #retry(field: string): void {
    if (!DIGITS.test(field) || this.#onRetry === undefined) return;
    try {
      this.#onRetry(Number(field));
    } catch {
      // A failing observer must not end the stream.
    }
  }

  #dispatch(): void {
    if (this.#dataLines === 0) {
      this.#eventType = "";
      return;
    }
    const data = this.#data;
    const type = this.#takeType();
    this.#resetEvent();
    this.#onEvent(type, data, this.#lastEventId);
  }

  /** The pending event type (`"message"` when none was given), which it clears. */
  #takeType(): string {
    const type = this.#eventType;
    this.#eventType = "";
    return type === "" ? "message" : type;
  }

  #resetEvent(): void {
    this.#data = "";
    this.#dataLines = 0;
    this.#dataUnits = 0;
    this.#dataBytes = -1;
    this.#eventType = "";
  }

  /**
   * Drops the held line and the pending event and throws; `size` is how much
   * of the line, or of the event's data, was read.
   */
  #overflow(oversized: "line" | "event", size: number): never {
    this.#carry.clear();
    this.#resetEvent();
    throw new StreamProtocolError({ framing: "sse", oversized, limit: this.#max, size });
  }
}

/** Whether the line at `start` is field `name`: the name, then a colon or the line end. */
function isField(text: string, start: number, end: number, name: string): boolean {
  const after = start + name.length;
  if (after > end || (after < end && text.charCodeAt(after) !== COLON)) return false;
  // The first character was matched already.
  for (let i = 1; i < name.length; i++) {
    if (text.charCodeAt(start + i) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** The value after a field name ending at `at`: one space after the colon is dropped. */
function value(text: string, at: number, end: number): string {
  if (at < end) {
    at++; // the colon
    if (at < end && text.charCodeAt(at) === SPACE) at++;
  }
  return text.slice(at, end);
}

/**
 * Decodes a `text/event-stream` byte stream into {@linkcode SseMessage}s,
 * following the WHATWG HTML rules for interpreting an event stream.
 *
 * One leading BOM is dropped; lines end with CR, LF or CRLF (also when a
 * CRLF is split between chunks); comments and unknown fields are ignored;
 * `data` lines are joined with `"\n"`; an event is dispatched on a blank line
 * when it has data; `event` defaults to `"message"`; `id` sets the
 * last-event-ID, which persists across events (`id` containing NUL is
 * ignored, an empty `id` resets it); `retry` with only ASCII digits is
 * passed to `onRetry`; an unfinished event at the end is dropped. A line or
 * an event's data larger than `maxLineBytes` UTF-8 bytes errors the stream
 * with a `StreamProtocolError`.
 *
 * @example Read events from a response body
 * ```ts
 * import { SseParserStream } from "./sse.ts";
 *
 * const body = new Response("id: 1\ndata: hello\n\n").body!;
 * for await (const message of body.pipeThrough(new SseParserStream())) {
 *   // message: { event: "message", data: "hello", lastEventId: "1" }
 * }
 * ```
 */
export class SseParserStream extends TransformStream<Uint8Array, SseMessage> {
  /** Creates the stream; throws `RangeError` for a bad `maxLineBytes`. */
  constructor(options: SseParserOptions = {}) {
    const max = maxLineBytesOf(options);
    super(parserTransformer<SseMessage>((controller) =>
      new SseParser(max, {
        onEvent: (event, data, lastEventId) => controller.enqueue({ event, data, lastEventId }),
        onRetry: options.onRetry,
      })
    ));
  }
}
