/**
 * Child process of the decoder memory tests: feeds one record of 100 MiB
 * (an NDJSON line or an SSE `data` line) to a parser bounded at 1 MiB, in
 * 64 KiB chunks, then one normal record, and prints the heap's growth over
 * the run (measured after a full GC every 50 chunks) with what the parser
 * reported. Run with `--v8-flags=--expose-gc`; the argument is the framing.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { NdjsonParser } from "../src/decode/ndjson.ts";
import { SseParser } from "../src/decode/sse.ts";
import type { InvalidInput } from "../src/decode/types.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Cannot measure the heap: run with --v8-flags=--expose-gc");
const framing = Deno.args[0];
const MAX_LINE_BYTES = 1024 * 1024;
const CHUNKS = 1600;
const chunk = new Uint8Array(64 * 1024).fill(0x78); // "x"
const encoder = new TextEncoder();

let values = 0;
const invalid: InvalidInput[] = [];
const onInvalid = (input: InvalidInput) => invalid.push(input);
const parser = framing === "ndjson"
  ? new NdjsonParser(MAX_LINE_BYTES, { onValue: () => values++, onInvalid })
  : new SseParser(MAX_LINE_BYTES, { onEvent: () => values++, onInvalid });
const [open, close] = framing === "ndjson" ? ['"', '"\n{"a":1}\n'] : ["data: ", "\n\ndata: ok\n\n"];

parser.feed(encoder.encode(open));
gc();
const base = Deno.memoryUsage().heapUsed;
let peak = 0;
for (let i = 1; i <= CHUNKS; i++) {
  parser.feed(chunk);
  if (i % 50 === 0) {
    gc();
    peak = Math.max(peak, Deno.memoryUsage().heapUsed - base);
  }
}
parser.feed(encoder.encode(close));
parser.end();
console.log(JSON.stringify({
  fed: CHUNKS * chunk.length,
  peak,
  values,
  sizes: invalid.map((input) => input.size),
}));
