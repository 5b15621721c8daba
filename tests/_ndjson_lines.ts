/**
 * A tiny line reader for tests of the reference server. It is independent
 * of `src/decode` on purpose: the server's tests must not lean on the
 * decoders they help to test.
 *
 * @module
 */

/** Reads a response body line by line, with a timeout per read. */
export class LineReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #lines: string[] = [];
  #done = false;
  /** A read that outlived its timeout; the next call waits on it, so no chunk is lost. */
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  /** Starts reading `body`; call {@linkcode cancel} when finished with it. */
  constructor(body: ReadableStream<Uint8Array> | null) {
    if (body === null) throw new TypeError("Cannot read lines: the response has no body");
    this.#reader = body.getReader();
  }

  /**
   * The next line without its `\n` (keepalive lines are `""`), or
   * `undefined` at the end of the body.
   */
  async next(timeoutMs = 5_000): Promise<string | undefined> {
    while (this.#lines.length === 0) {
      if (this.#done) {
        if (this.#buffer === "") return undefined;
        const rest = this.#buffer;
        this.#buffer = "";
        return rest;
      }
      this.#pending ??= this.#reader.read();
      const { done, value } = await withTimeout(this.#pending, timeoutMs);
      this.#pending = undefined;
      if (done) {
        this.#done = true;
        this.#buffer += this.#decoder.decode();
      } else {
        this.#buffer += this.#decoder.decode(value, { stream: true });
        const parts = this.#buffer.split("\n");
        this.#buffer = parts.pop() ?? "";
        this.#lines.push(...parts);
      }
    }
    return this.#lines.shift();
  }

  /**
   * The next non-empty line parsed as JSON, or `undefined` at the end. The
   * timeout covers the whole wait, so keepalives cannot stretch it.
   */
  async nextJson(timeoutMs = 5_000): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const line = await this.next(Math.max(1, deadline - Date.now()));
      if (line === undefined) return undefined;
      if (line !== "") return JSON.parse(line);
    }
  }

  /** The next `count` events (non-empty lines as JSON); throws at an early end. */
  async take(count: number, timeoutMs = 5_000): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    const events: Record<string, unknown>[] = [];
    while (events.length < count) {
      const event = await this.nextJson(Math.max(1, deadline - Date.now()));
      if (event === undefined) {
        throw new Error(`Cannot take ${count} events: the body ended after ${events.length}`);
      }
      events.push(event);
    }
    return events;
  }

  /** Every remaining line until the body ends. */
  async rest(timeoutMs = 5_000): Promise<string[]> {
    const lines: string[] = [];
    while (true) {
      const line = await this.next(timeoutMs);
      if (line === undefined) return lines;
      lines.push(line);
    }
  }

  /** Stops reading and releases the body. Safe to call more than once. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Rejects when `promise` has not settled within `ms`; never leaks its timer. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
