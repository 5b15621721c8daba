/**
 * UTF-8 byte handling shared by the decoders: exact byte counts without
 * encoding, the bounded carry-over of an unfinished line, and a chunk decoder
 * that holds back a character split between chunks.
 *
 * This module is browser compatible.
 *
 * @module
 */

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
      this.#bytes = this.byteLength;
    }
    return this.#bytes <= this.#limit;
  }

  /**
   * The UTF-8 size of the held text. Counted on each call until the cheap
   * bound stops holding, so outside `push` it is meant for the error path.
   */
  get byteLength(): number {
    if (this.#bytes >= 0) return this.#bytes;
    let bytes = 0;
    for (const part of this.#parts) bytes += utf8ByteLength(part);
    return bytes;
  }

  /** The UTF-16 code of the last held character; `NaN` when nothing is held. */
  get lastCharCode(): number {
    const last = this.#parts.at(-1);
    return last === undefined ? Number.NaN : last.charCodeAt(last.length - 1);
  }

  /** The first `length` characters held, as a string of their own. */
  head(length = 256): string {
    let text = "";
    for (const part of this.#parts) {
      if (text.length >= length) break;
      text += part.slice(0, length - text.length);
    }
    return text;
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
