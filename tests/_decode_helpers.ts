/**
 * Helpers shared by the decoder tests: run a decoder stream over a list of
 * chunks, enumerate chunkings of a fixture, and random chunks and text drawn
 * from a seeded source (`src/testing/prng.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";

/** What a decoder stream produced: its values and, if it errored, the error. */
export interface Collected<O> {
  /** Every value read before the stream ended or errored. */
  values: O[];
  /** The error the stream ended with, if any. */
  error?: unknown;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Pipes `chunks` through `stream` and reads everything it outputs. */
export async function collect<O>(
  stream: TransformStream<Uint8Array, O>,
  chunks: Uint8Array[],
): Promise<Collected<O>> {
  let i = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const values: O[] = [];
  const reader = source.pipeThrough(stream).getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return { values };
      values.push(value);
    }
  } catch (error) {
    return { values, error };
  }
}

/** Cuts `bytes` at the given offsets (ascending). */
export function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const at of offsets) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/**
 * Every chunking worth trying for a small fixture: whole, cut once at each
 * offset, cut twice at each pair of offsets (fixtures up to `pairLimit`
 * bytes), and byte by byte.
 */
export function* chunkings(bytes: Uint8Array, pairLimit = 160): Generator<Uint8Array[]> {
  const n = bytes.length;
  yield [bytes];
  for (let a = 0; a <= n; a++) yield cut(bytes, [a]);
  if (n <= pairLimit) {
    for (let a = 1; a < n; a++) {
      for (let b = a + 1; b < n; b++) yield cut(bytes, [a, b]);
    }
  }
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/**
 * Runs `run` on every chunking of `bytes` and asserts each gives `expected`
 * (compared with `deepStrictEqual`).
 */
export async function assertEveryChunking<T>(
  bytes: Uint8Array,
  run: (chunks: Uint8Array[]) => Promise<T>,
  expected: T,
): Promise<void> {
  for (const chunks of chunkings(bytes)) {
    const actual = await run(chunks);
    assert.deepStrictEqual(actual, expected, `chunk sizes ${chunks.map((c) => c.length)}`);
  }
}

/** Cuts `bytes` into random chunks of 1 to `maxSize` bytes. */
export function randomChunks(
  bytes: Uint8Array,
  random: () => number,
  maxSize: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(random() * maxSize);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Random text of up to `max` characters, mixing ASCII with "ä€😀". */
export function randomText(random: () => number, max: number): string {
  const alphabet = ["a", "b", "z", " ", ":", "0", "ä", "€", "😀", '"', "\\", "\t"];
  let text = "";
  const length = Math.floor(random() * (max + 1));
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
}

/** What `tests/decode_memory_child.ts` measured while a parser discarded a 100 MiB record. */
export interface DiscardMeasure {
  /** Bytes of the oversized record fed. */
  fed: number;
  /** Largest growth of the heap over the run, after full GCs. */
  peak: number;
  /** Records decoded: the normal one after the oversized one. */
  values: number;
  /** `size` of each too-large report. */
  sizes: number[];
}

/** Runs `tests/decode_memory_child.ts` for `framing` in a Deno child with `gc()` exposed. */
export async function measureDiscard(framing: "ndjson" | "sse"): Promise<DiscardMeasure> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      new URL("./decode_memory_child.ts", import.meta.url).pathname,
      framing,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) throw new Error(`Cannot measure: ${decoder.decode(output.stderr)}`);
  return JSON.parse(decoder.decode(output.stdout));
}
