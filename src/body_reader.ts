/**
 * Reads a response body chunk by chunk into a buffer of its own, where the
 * body allows it, so that an idle stream waits on a few KiB rather than on
 * the runtime's default chunk.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * What `reader.read()` resolves with. The DOM lib calls it
 * `ReadableStreamReadResult`, a name `@types/node` does not declare globally.
 */
export type ReadResult<T> = Awaited<ReturnType<ReadableStreamDefaultReader<T>["read"]>>;

/** The first buffer of a byte body: what an idle listener's pending read holds. */
const FIRST_BUFFER_BYTES = 4096;
/** The buffer stops growing here, the chunk size runtimes read sockets in. */
const MOST_BUFFER_BYTES = 65536;

/**
 * Reads a body with a BYOB reader where it is a byte stream (fetch bodies
 * on Deno and Node), else with a default reader (Bun, in-process bodies).
 *
 * Why: a default reader of a byte stream allocates the stream's
 * `autoAllocateChunkSize` for every pending read — 64 KiB on Deno — and a
 * listener's read is pending all the time it waits for events, so a
 * thousand idle listeners held 64 MiB of read buffers. This reader starts
 * at 4 KiB and doubles the buffer, up to 64 KiB, each time a read fills it,
 * so a busy stream still reads in large chunks.
 *
 * A chunk it returns is a view of that buffer, which the next `read()`
 * reuses: use the bytes (decode them) before reading again.
 */
export class BodyReader {
  readonly #bytes: ReadableStreamBYOBReader | undefined;
  readonly #chunks: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #buffer: ArrayBuffer = new ArrayBuffer(FIRST_BUFFER_BYTES);

  /** Locks `body` for reading. */
  constructor(body: ReadableStream<Uint8Array>) {
    try {
      // Throws TypeError, leaving the body unlocked, unless it is a byte stream.
      this.#bytes = body.getReader({ mode: "byob" });
    } catch {
      this.#chunks = body.getReader();
    }
  }

  /** Resolves when the body closes; rejects when it errors. */
  get closed(): Promise<void> {
    return (this.#bytes ?? this.#chunks)!.closed;
  }

  /** The next chunk, valid until the next `read()`; `done` once the body ended. */
  read(): Promise<ReadResult<Uint8Array>> {
    const bytes = this.#bytes;
    if (bytes === undefined) return this.#chunks!.read();
    return bytes.read(new Uint8Array(this.#buffer)).then((result) => {
      const view = result.value;
      // The buffer comes back (transferred) with every result, done or not.
      if (view !== undefined) this.#buffer = view.buffer as ArrayBuffer;
      // The same shape in every lib (DOM, Deno, @types/node) as a view-typed done result.
      if (result.done) return result as ReadResult<Uint8Array>;
      const size = this.#buffer.byteLength;
      if (view!.byteLength === size && size < MOST_BUFFER_BYTES) {
        this.#buffer = new ArrayBuffer(size * 2);
      }
      return { done: false, value: view! };
    });
  }

  /** Cancels the body; a pending read ends as if the body were complete. */
  cancel(reason?: unknown): Promise<void> {
    return (this.#bytes ?? this.#chunks)!.cancel(reason);
  }
}
