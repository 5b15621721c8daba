/**
 * Shapes shared by the stream decoders: the public option, framing and
 * message types, and the two helpers that fill them in: the line bound's
 * default and check, and the bounded report of skipped input.
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

/** Something the decoder skipped because it could not be used. */
export interface InvalidInput {
  /** Why it was skipped, e.g. `invalid JSON: Unexpected token…`. */
  reason: string;
  /** The start of the offending line or SSE data (at most 256 characters). */
  excerpt: string;
}

/** Called once per skipped line or event; must not throw. */
export type InvalidInputHandler = (invalid: InvalidInput) => void;

/**
 * Calls `handler` with a bounded excerpt of `text`; a handler that throws is
 * ignored, because bad input must never end the stream.
 */
export function report(
  handler: InvalidInputHandler | undefined,
  reason: string,
  text: string,
): void {
  if (handler === undefined) return;
  try {
    handler({ reason, excerpt: text.slice(0, EXCERPT_LENGTH) });
  } catch {
    // The handler's own failure is not the stream's problem.
  }
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
   * Largest line (NDJSON) or event (SSE, all its lines together) in UTF-8
   * bytes; anything larger errors the stream with `StreamProtocolError`
   * instead of growing the buffer.
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
