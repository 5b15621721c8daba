/**
 * Server-Sent Events decoding, following the WHATWG HTML rules for
 * "interpreting an event stream", with a bound on line and event size.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type ByteParser, parserTransformer } from "./parser_stream.ts";
import {
  EXCERPT_LENGTH,
  extendExcerpt,
  type InvalidInput,
  type InvalidInputHandler,
  type LineLimitOptions,
  maxLineBytesOf,
  type SseMessage,
  tooLarge,
} from "./types.ts";
import { CarryOver, exceedsUtf8, utf8ByteLength, Utf8Decoder } from "./utf8.ts";

/** Options of {@linkcode SseParserStream}. */
export interface SseParserOptions extends LineLimitOptions {
  /** Told the reconnection time, in milliseconds, of each valid `retry` field. */
  onRetry?: (ms: number) => void;
  /**
   * Told about every event dropped because a line of it or its data was
   * over `maxLineBytes` (kind `too-large`). A handler that throws is ignored.
   */
  onInvalid?: InvalidInputHandler;
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
  /**
   * An event dropped for its size (kind `too-large`), when the blank line
   * that ends it arrives, with the last-event-ID buffer at that point (its
   * own `id` field counts, even after the oversized line); `undefined` for
   * an event the end of the input cut off, which is never dispatched.
   */
  onInvalid?: ((invalid: InvalidInput, lastEventId: string | undefined) => void) | undefined;
  /**
   * A dispatch with no data (no event) whose last-event-ID buffer differs
   * from the one last told here: WHATWG's "dispatch the event" sets the
   * last event ID before it drops a data-less event, so a block of just
   * `id: 5` moves the resume point as an event would. Told at most once per
   * new ID (so blank lines between events cost nothing).
   */
  onLastEventId?: ((lastEventId: string) => void) | undefined;
}

const LF = 10;
const SPACE = 32;
const COLON = 58;
const D = 100;
const E = 101;
const I = 105;
const R = 114;
const DIGITS = /^[0-9]+$/;
const WHAT = "SSE event";

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
  readonly #onInvalid: SseParserCallbacks["onInvalid"];
  readonly #onLastEventId: SseParserCallbacks["onLastEventId"];
  // The last-event-ID buffer as of the last data-less dispatch told.
  #toldEventId: string;
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
  #lastEventId: string;
  // The event being dropped for its size: the bytes read of it (-1 while
  // none is) and the start of what made it too large, for the report. Its
  // other fields are still read, so an `id` after the oversized line counts.
  #dropped = -1;
  #droppedStart = "";
  // The rest of an oversized line is being discarded up to its line end,
  // and whether that line is the start the report quotes.
  #discarding = false;
  #quoting = false;

  /**
   * Creates a parser that allows lines and events of at most `maxLineBytes`
   * UTF-8 bytes. `lastEventId` seeds the last-event-ID buffer: the ID the
   * stream was opened with, so that events without an `id` keep it.
   */
  constructor(maxLineBytes: number, callbacks: SseParserCallbacks, lastEventId?: string) {
    lastEventId ??= "";
    this.#max = maxLineBytes;
    this.#cheapUnits = Math.floor(maxLineBytes / 3);
    this.#carry = new CarryOver(maxLineBytes);
    this.#onEvent = callbacks.onEvent;
    this.#onRetry = callbacks.onRetry;
    this.#onInvalid = callbacks.onInvalid;
    this.#onLastEventId = callbacks.onLastEventId;
    this.#lastEventId = lastEventId;
    this.#toldEventId = lastEventId;
  }

  /** The last-event-ID buffer: set by `id` fields, kept across events. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Parses the complete lines of `chunk` and holds back the rest. */
  feed(chunk: Uint8Array): void {
    this.#text(this.#decoder.decode(chunk));
  }

  /**
   * Ends the input: an unfinished line or event is discarded, as the spec
   * says; one that was being dropped for its size is reported.
   */
  end(): void {
    this.#text(this.#decoder.flush());
    if (this.#dropped >= 0) this.#reportDropped(undefined);
    this.#carry.clear();
    this.#discarding = false;
    this.#quoting = false;
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
    if (this.#discarding) {
      start = this.#discardLine(text, start);
      if (start === -1) return;
    } else if (!this.#carry.empty) {
      start = this.#finishCarried(text, start);
      if (start === -1) return;
    }
    start = text.indexOf("\r", start) === -1
      ? this.#linesLf(text, start)
      : this.#lines(text, start);
    if (start < length) this.#hold(start === 0 ? text : text.slice(start));
  }

  /** Ends the held line with the start of `text`; returns where the next line starts, or -1. */
  #finishCarried(text: string, start: number): number {
    const end = lineEnd(text, start);
    this.#hold(end === -1 ? text.slice(start) : text.slice(start, end));
    if (end === -1) return -1;
    if (this.#discarding) {
      // The held line outgrew the bound in #hold and ends here.
      this.#discarding = false;
      this.#quoting = false;
    } else {
      const line = this.#carry.take();
      this.#line(line, 0, line.length);
    }
    return this.#after(text, end);
  }

  /** Holds the start of an unfinished line; one that outgrows the bound is discarded from now on. */
  #hold(text: string): void {
    if (this.#carry.push(text)) return;
    this.#quoting = this.#drop(this.#carry.byteLength, this.#carry.head(EXCERPT_LENGTH));
    this.#carry.clear();
    this.#discarding = true;
  }

  /** Discards the oversized line up to its end; returns where the next line starts, or -1. */
  #discardLine(text: string, start: number): number {
    const end = lineEnd(text, start);
    const stop = end === -1 ? text.length : end;
    this.#dropped += utf8ByteLength(text, start, stop);
    if (this.#quoting) this.#droppedStart = extendExcerpt(this.#droppedStart, text, start, stop);
    if (end === -1) return -1;
    this.#discarding = false;
    this.#quoting = false;
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
          this.#dataLines === 0 && this.#dropped < 0 && text.charCodeAt(start) === D &&
          isField(text, start, lf, "data")
        ) {
          if (this.#fits(text, start, lf)) {
            this.#onEvent(this.#takeType(), value(text, start + 4, lf), this.#lastEventId);
          } else {
            this.#dispatch();
          }
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

  /** Whether a complete line fits the bound; one that does not drops its event. */
  #fits(text: string, start: number, end: number): boolean {
    if (end - start <= this.#cheapUnits || !exceedsUtf8(text, start, end, this.#max)) return true;
    this.#drop(utf8ByteLength(text, start, end), extendExcerpt("", text, start, end));
    return false;
  }

  /** One non-empty line. */
  #line(text: string, start: number, end: number): void {
    if (!this.#fits(text, start, end)) return;
    // Only four field names mean anything, so instead of searching for the
    // colon (which may be far away, or absent) each name is matched in place.
    switch (text.charCodeAt(start)) {
      case D:
        if (!isField(text, start, end, "data")) return;
        if (this.#dropped < 0) this.#appendData(value(text, start + 4, end));
        else this.#dropped += utf8ByteLength(text, valueStart(text, start + 4, end), end) + 1;
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

  /** Counts the data exactly once the cheap bound fails; data over the bound drops the event. */
  #checkData(appended: string): void {
    if (this.#dataUnits > this.#max) {
      this.#dataBytes = utf8ByteLength(this.#data);
    } else if (this.#dataBytes < 0) {
      this.#dataBytes = utf8ByteLength(this.#data);
    } else {
      this.#dataBytes += utf8ByteLength(appended) + 1;
    }
    if (this.#dataBytes <= this.#max) return;
    const size = this.#dataBytes;
    const start = this.#data.slice(0, EXCERPT_LENGTH);
    this.#clearData();
    this.#dropped = size;
    this.#droppedStart = start;
  }

  /**
   * Starts (or continues) dropping the current event for an oversized line
   * of `size` bytes that starts with `start`. The data read before it
   * counts, joined with "\n", and is let go. Returns whether `start` is what
   * the report quotes (the first oversized line of the event).
   */
  #drop(size: number, start: string): boolean {
    if (this.#dropped >= 0) {
      this.#dropped += size + 1;
      return false;
    }
    this.#dropped = (this.#dataLines === 0 ? 0 : utf8ByteLength(this.#data) + 1) + size;
    this.#droppedStart = start;
    this.#clearData();
    return true;
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
    if (this.#dropped >= 0) {
      this.#reportDropped(this.#lastEventId);
      this.#resetEvent();
      return;
    }
    if (this.#dataLines === 0) {
      this.#eventType = "";
      const id = this.#lastEventId;
      if (id !== this.#toldEventId) {
        this.#toldEventId = id;
        this.#onLastEventId?.(id);
      }
      return;
    }
    const data = this.#data;
    const type = this.#takeType();
    this.#resetEvent();
    this.#onEvent(type, data, this.#lastEventId);
  }

  #reportDropped(lastEventId: string | undefined): void {
    const invalid = tooLarge(WHAT, this.#dropped, this.#max, this.#droppedStart);
    this.#dropped = -1;
    this.#droppedStart = "";
    const onInvalid = this.#onInvalid;
    if (onInvalid === undefined) return;
    try {
      onInvalid(invalid, lastEventId);
    } catch {
      // A failing observer must not end the stream.
    }
  }

  /** The pending event type (`"message"` when none was given), which it clears. */
  #takeType(): string {
    const type = this.#eventType;
    this.#eventType = "";
    return type === "" ? "message" : type;
  }

  #clearData(): void {
    this.#data = "";
    this.#dataLines = 0;
    this.#dataUnits = 0;
    this.#dataBytes = -1;
  }

  #resetEvent(): void {
    this.#clearData();
    this.#eventType = "";
    this.#dropped = -1;
    this.#droppedStart = "";
  }
}

/** Where the line starting at `start` ends (its first CR or LF), or -1 when it does not end in `text`. */
function lineEnd(text: string, start: number): number {
  const lf = text.indexOf("\n", start);
  const cr = text.indexOf("\r", start);
  return cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
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

/** Where the value after a field name ending at `at` starts: one space after the colon is dropped. */
function valueStart(text: string, at: number, end: number): number {
  if (at < end) {
    at++; // the colon
    if (at < end && text.charCodeAt(at) === SPACE) at++;
  }
  return at;
}

/** The value after a field name ending at `at`. */
function value(text: string, at: number, end: number): string {
  return text.slice(valueStart(text, at, end), end);
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
 * passed to `onRetry`; an unfinished event at the end is dropped. An event
 * with a line or data larger than `maxLineBytes` UTF-8 bytes is dropped too:
 * the oversized bytes are discarded as they arrive, its other fields (`id`,
 * `retry`) still count, and `onInvalid` hears of it (kind `too-large`) at
 * the blank line that ends it.
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
  constructor(options?: SseParserOptions) {
    options ??= {};
    const max = maxLineBytesOf(options);
    super(parserTransformer<SseMessage>((controller) =>
      new SseParser(max, {
        onEvent: (event, data, lastEventId) => controller.enqueue({ event, data, lastEventId }),
        onRetry: options.onRetry,
        onInvalid: options.onInvalid,
      })
    ));
  }
}
