/**
 * Shapes shared by the stream decoders, and the few internals they share:
 * UTF-8 byte accounting, the bounded carry-over buffer and the stream
 * wrapper that turns a push parser into a `TransformStream`.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Default bound on one NDJSON line or one SSE event: 1 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** Something the decoder skipped because it could not be used. */
export interface InvalidInput {
  /** Why it was skipped, e.g. `invalid JSON: Unexpected token…`. */
  reason: string;
  /** The start of the offending line or SSE data (at most 256 characters). */
  excerpt: string;
}

/** Called once per skipped line or event; must not throw. */
export type InvalidInputHandler = (invalid: InvalidInput) => void;

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

/**
 * Counts the UTF-8 bytes of `text.slice(start, end)` without encoding it.
 * Each half of a surrogate pair counts 2, so a pair counts 4 even when a
 * caller splits the text between them.
 */
export function utf8ByteLength(text: string, start = 0, end: number = text.length): number {
  let bytes = end - start;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

/**
 * Whether `text.slice(start, end)` is longer than `limit` UTF-8 bytes. A
 * UTF-16 unit is 1 to 3 bytes, so only slices whose length lies between
 * `limit / 3` and `limit` are counted exactly.
 */
export function exceedsUtf8(text: string, start: number, end: number, limit: number): boolean {
  const units = end - start;
  if (units * 3 <= limit) return false;
  if (units > limit) return true;
  return utf8ByteLength(text, start, end) > limit;
}

/**
 * The unfinished line carried from one chunk to the next. Fragments are kept
 * in a list and joined once when the line ends, so a line spread over many
 * chunks costs O(n), and the held size is checked on every push so a line
 * that never ends cannot grow past `limit` UTF-8 bytes.
 */
export class CarryOver {
  #parts: string[] = [];
  #units = 0;
  // Exact UTF-8 size once the cheap bound (3 bytes per unit) stopped proving
  // the limit holds; -1 before that. Each fragment is counted at most once.
  #bytes = -1;
  readonly #limit: number;

  /** Creates an empty buffer that holds at most `limit` UTF-8 bytes. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Whether nothing is held. */
  get empty(): boolean {
    return this.#units === 0;
  }

  /** Appends `text`; returns `false` when the held text now exceeds the limit. */
  push(text: string): boolean {
    if (text.length === 0) return true;
    this.#parts.push(text);
    this.#units += text.length;
    if (this.#bytes >= 0) {
      this.#bytes += utf8ByteLength(text);
    } else if (this.#units * 3 <= this.#limit) {
      return true;
    } else if (this.#units > this.#limit) {
      return false;
    } else {
      let bytes = 0;
      for (const part of this.#parts) bytes += utf8ByteLength(part);
      this.#bytes = bytes;
    }
    return this.#bytes <= this.#limit;
  }

  /** Returns the held text joined and empties the buffer. */
  take(): string {
    const text = this.#parts.length === 1 ? this.#parts[0] as string : this.#parts.join("");
    this.clear();
    return text;
  }

  /** Drops the held text. */
  clear(): void {
    this.#parts = [];
    this.#units = 0;
    this.#bytes = -1;
  }
}

/**
 * A streaming UTF-8 decoder that drops exactly one BOM at the start of the
 * whole stream. Two runtime quirks shape it:
 *
 * - `TextDecoder`'s own BOM handling is not used because Deno's (2.9) also
 *   drops a BOM that starts a later chunk when the chunks before it were all
 *   ASCII; a second BOM is data.
 * - `decode(chunk, { stream: true })` is about 5× slower than a plain
 *   `decode()` on Node 20, so a character split at the end of a chunk is
 *   held back here and each chunk is decoded on its own.
 */
export class Utf8Decoder {
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #held: Uint8Array | undefined;
  #atStart = true;

  /** Decodes `chunk`, holding back a character split at its end. */
  decode(chunk: Uint8Array): string {
    let bytes = chunk;
    const held = this.#held;
    if (held !== undefined) {
      bytes = new Uint8Array(held.length + chunk.length);
      bytes.set(held);
      bytes.set(chunk, held.length);
      this.#held = undefined;
    }
    const end = completeLength(bytes);
    if (end < bytes.length) {
      this.#held = bytes.slice(end);
      bytes = bytes.subarray(0, end);
    }
    return this.#strip(this.#decoder.decode(bytes));
  }

  /** Decodes what is held back (a broken character becomes U+FFFD). */
  flush(): string {
    const held = this.#held;
    this.#held = undefined;
    return held === undefined ? "" : this.#strip(this.#decoder.decode(held));
  }

  #strip(text: string): string {
    if (!this.#atStart || text.length === 0) return text;
    this.#atStart = false;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
}

/**
 * The length of the longest prefix of `bytes` that does not end inside a
 * UTF-8 sequence: the bytes after it start a sequence that the next chunk
 * may complete. Holding back an invalid start is harmless, since it is
 * decoded together with the bytes that follow it, as a streaming decoder
 * would.
 */
function completeLength(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let i = length - 1; i >= 0 && i >= length - 4; i--) {
    const byte = bytes[i] as number;
    if ((byte & 0xc0) !== 0x80) {
      const needed = byte < 0xc0 ? 1 : byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : 4;
      return i + needed > length ? i : length;
    }
  }
  return length;
}

/** A push parser over bytes: the transport-free core of a decoder stream. */
export interface ByteParser {
  /** Parses one chunk; throws `StreamProtocolError` when a bound is exceeded. */
  feed(chunk: Uint8Array): void;
  /** Parses what is left at the end of the input. */
  end(): void;
}

/**
 * A `TransformStream` transformer. Spelled through the constructor rather
 * than the DOM lib's `Transformer`, which `@types/node` does not declare
 * globally: the npm build's declarations must type-check without the DOM lib.
 * `cancel` is added because `@types/node` 20 lacks it, though Node 20.20,
 * Node 24, Bun and Deno all call it (tests/cross_runtime checks the types).
 */
export type TransformerOf<I, O> =
  & NonNullable<ConstructorParameters<typeof TransformStream<I, O>>[0]>
  & { cancel?: (reason: unknown) => void | PromiseLike<void> };

/**
 * Builds the `Transformer` of a decoder stream around the parser that
 * `create` returns for the stream's controller. `checkpoint`, if given, runs
 * before each chunk, before the end and when the stream is aborted or
 * cancelled, while the readable side still tells how much output is unread.
 *
 * A parser error that happens after the same chunk already produced output
 * is held back until the next chunk or the end: erroring a stream drops
 * whatever it still queues, and the output before the error must reach the
 * reader. The parser discards everything after its error, so holding it
 * back costs no memory.
 */
export function parserTransformer<O>(
  create: (controller: TransformStreamDefaultController<O>) => ByteParser,
  checkpoint: () => void = () => {},
): TransformerOf<Uint8Array, O> {
  let parser: ByteParser | undefined;
  let failed = false;
  let failure: unknown;
  return {
    start(controller) {
      parser = create(controller);
    },
    transform(chunk, controller) {
      checkpoint();
      if (failed) throw failure;
      try {
        (parser as ByteParser).feed(chunk);
      } catch (error) {
        // desiredSize is negative exactly when output of this chunk is still queued.
        if ((controller.desiredSize ?? 0) >= 0) throw error;
        failed = true;
        failure = error;
      }
    },
    flush() {
      checkpoint();
      if (failed) throw failure;
      (parser as ByteParser).end();
    },
    cancel() {
      checkpoint();
    },
  };
}
