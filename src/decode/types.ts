/**
 * Shapes shared by the stream decoders: the public option, framing and
 * message types, and the helpers that fill them in: the line bound's
 * default and check, and the bounded reports of skipped input.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** How envelopes are framed on a stream: NDJSON lines or SSE events. */
export type StreamFraming = "ndjson" | "sse";

/** Default bound on one NDJSON line or one SSE event: 1 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** How many characters of a bad line an {@linkcode InvalidInput} excerpt keeps. */
export const EXCERPT_LENGTH = 256;

/**
 * Why a record was skipped:
 *
 * - `invalid-json`: an NDJSON line or SSE `data` that is not JSON;
 * - `not-an-envelope`: JSON that is not an event envelope (no string `name`);
 * - `too-large`: a line or SSE event over `maxLineBytes`; its bytes were
 *   discarded as they arrived.
 */
export type InvalidInputKind = "invalid-json" | "not-an-envelope" | "too-large";

/** Something the decoder skipped because it could not be used. */
export interface InvalidInput {
  /** What was wrong with it; branch on this rather than on `reason`. */
  kind: InvalidInputKind;
  /** Why it was skipped, for people, e.g. `invalid JSON: Unexpected token…`. */
  reason: string;
  /** The start of the offending line or SSE data (at most 256 characters). */
  excerpt: string;
  /**
   * `too-large` only: the UTF-8 bytes of the record that were read and
   * discarded, more than `limit` (for a record cut off by the end of the
   * input, what arrived of it).
   */
  size?: number | undefined;
  /** `too-large` only: the `maxLineBytes` bound it exceeded. */
  limit?: number | undefined;
}

/** Called once per skipped line or event; must not throw. */
export type InvalidInputHandler = (invalid: InvalidInput) => void;

/**
 * Calls `handler` with `invalid`; a handler that throws is ignored, because
 * bad input must never end the stream.
 */
export function report(handler: InvalidInputHandler | undefined, invalid: InvalidInput): void {
  if (handler === undefined) return;
  try {
    handler(invalid);
  } catch {
    // The handler's own failure is not the stream's problem.
  }
}

/** The report of a line or SSE `data` that is not JSON, or JSON that is not an envelope. */
export function unusable(
  kind: "invalid-json" | "not-an-envelope",
  reason: string,
  text: string,
): InvalidInput {
  return { kind, reason, excerpt: text.slice(0, EXCERPT_LENGTH) };
}

/**
 * `excerpt` followed by `text.slice(start, end)`, up to {@linkcode EXCERPT_LENGTH}
 * characters in all: the start of a record that arrives in pieces.
 */
export function extendExcerpt(excerpt: string, text: string, start: number, end: number): string {
  const room = EXCERPT_LENGTH - excerpt.length;
  if (room <= 0 || start >= end) return excerpt;
  return excerpt + text.slice(start, Math.min(end, start + room));
}

/**
 * The report of a record over `limit` bytes: `what` names it (`NDJSON line`,
 * `SSE event`), `size` is how much of it was read, `excerpt` its start
 * (at most {@linkcode EXCERPT_LENGTH} characters already).
 */
export function tooLarge(what: string, size: number, limit: number, excerpt: string): InvalidInput {
  return {
    kind: "too-large",
    reason: `too large: the ${what} is ${size} bytes, over maxLineBytes (${limit})`,
    excerpt,
    size,
    limit,
  };
}

/** One dispatched Server-Sent Event. */
export interface SseMessage {
  /** The event type; `"message"` when the stream gave none. */
  event: string;
  /** The data lines joined with `"\n"`. */
  data: string;
  /** The last-event-ID buffer at dispatch time (persists across events). */
  lastEventId: string;
}

/** Options of the byte-level decoders. */
export interface LineLimitOptions {
  /**
   * Largest line (NDJSON), or SSE line or event data (all its `data` lines
   * together), in UTF-8 bytes. A larger record is skipped: its bytes are
   * discarded as they arrive, so memory stays within this bound plus one
   * chunk, it is reported to `onInvalid` (kind `too-large`), and the records
   * after it are decoded as usual.
   *
   * @default {1048576}
   */
  maxLineBytes?: number;
}

/**
 * Returns the `maxLineBytes` option, or its default.
 *
 * @throws {RangeError} When the option is not a positive safe integer.
 */
export function maxLineBytesOf(options: LineLimitOptions): number {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(
      `Cannot create decoder: maxLineBytes must be a positive integer, current value is ${max}`,
    );
  }
  return max;
}
