/**
 * The decoder benchmark workload: one seeded corpus and the cases that
 * decode it. Web standards only, so the same code runs under `deno bench`
 * and, bundled, under Node and Bun (see `decode_cross.ts`).
 *
 * @module
 */

import { createParser } from "eventsource-parser";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { EventsClient } from "../src/client.ts";
import type { EventStream } from "../src/event_stream.ts";
import { listen } from "../src/listener.ts";
import type { EventEnvelope } from "../src/envelope.ts";
import { EnvelopeDecoderStream } from "../src/decode/envelope_stream.ts";
import { NdjsonParser, NdjsonParserStream } from "../src/decode/ndjson.ts";
import { SseParser, SseParserStream } from "../src/decode/sse.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../src/decode/types.ts";
import { prng } from "../src/testing/prng.ts";

/** The corpus in every form the cases read. */
export interface Corpus {
  /** Each envelope's JSON, already in memory (the floor's input). */
  strings: string[];
  /** The NDJSON body, split into random chunks. */
  ndjson: Uint8Array[];
  /** The SSE body (`id: <id>\ndata: <json>\n\n`), split into random chunks. */
  sse: Uint8Array[];
  /** Bytes of the NDJSON body. */
  ndjsonBytes: number;
}

/** One benchmark case; resolves to the number of envelopes it decoded. */
export interface DecodeCase {
  /** Short name shown in reports. */
  name: string;
  /** Whether this is the floor the others are compared with. */
  baseline?: boolean;
  /** Decodes the whole corpus once. */
  run: (corpus: Corpus) => Promise<number>;
}

const NAMES = [
  "bus.ssh.script.run.request",
  "bus.ssh.script.run.response",
  "bus.vm.create.request",
  "bus.node.bootstrap.response",
];

function hex(random: () => number, digits: number): string {
  let out = "";
  for (let i = 0; i < digits; i++) out += "0123456789abcdef"[Math.floor(random() * 16)];
  return out;
}

/** Builds the corpus: `count` envelopes of about 240 bytes, chunked 1–64 KiB. */
export function makeCorpus(count = 200_000, seed = 42): Corpus {
  const random = prng(seed);
  const strings: string[] = [];
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < count; i++) {
    const id = `${start + i * 7}-${i % 16}`;
    strings.push(JSON.stringify({
      id,
      name: NAMES[i % NAMES.length],
      correlationId: `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${
        hex(random, 12)
      }`,
      source: `ssh-runner-${Math.floor(random() * 64)}`,
      timestamp: new Date(start + i * 7).toISOString(),
      payload: {
        host: `node-${Math.floor(random() * 1000)}.example.test`,
        exitCode: Math.floor(random() * 3),
        ok: random() < 0.9,
      },
    }));
  }
  const encoder = new TextEncoder();
  const ndjson = encoder.encode(strings.join("\n") + "\n");
  const sse = encoder.encode(
    strings.map((json) => `id: ${JSON.parse(json).id}\ndata: ${json}\n\n`).join(""),
  );
  return {
    strings,
    ndjson: split(ndjson, random),
    sse: split(sse, random),
    ndjsonBytes: ndjson.length,
  };
}

function split(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1024 + Math.floor(random() * 63 * 1024);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function source<T>(chunks: T[]): ReadableStream<T> {
  let i = 0;
  return new ReadableStream<T>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

async function drain<T>(stream: ReadableStream<T>, use: (value: T) => number): Promise<number> {
  const reader = stream.getReader();
  let count = 0;
  let check = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    check += use(value);
    count++;
  }
  if (check === 0) throw new Error("Cannot benchmark: nothing was decoded");
  return count;
}

type Named = { name: string };
const nameLength = (value: unknown) => (value as Named).name.length;
const parsedNameLength = (data: string) => (JSON.parse(data) as Named).name.length;

/** The cases, floor first. */
export const cases: DecodeCase[] = [
  {
    name: "floor (JSON.parse of in-memory strings)",
    baseline: true,
    run: (corpus) => {
      let check = 0;
      for (const json of corpus.strings) check += nameLength(JSON.parse(json));
      if (check === 0) throw new Error("Cannot benchmark: nothing was decoded");
      return Promise.resolve(corpus.strings.length);
    },
  },
  {
    // What emitting one value per read costs by itself: the floor's work done
    // inside a TransformStream, fed the same number of chunks as NDJSON. No
    // per-item TransformStream decoder can beat this.
    name: "stream floor (floor through a TransformStream)",
    run: (corpus) => {
      const perChunk = Math.ceil(corpus.strings.length / corpus.ndjson.length);
      const batches: string[][] = [];
      for (let at = 0; at < corpus.strings.length; at += perChunk) {
        batches.push(corpus.strings.slice(at, at + perChunk));
      }
      const parse = new TransformStream<string[], unknown>({
        transform(batch, controller) {
          for (const json of batch) controller.enqueue(JSON.parse(json));
        },
      });
      return drain(source(batches).pipeThrough(parse), nameLength);
    },
  },
  {
    name: "NdjsonParserStream",
    run: (corpus) => drain(source(corpus.ndjson).pipeThrough(new NdjsonParserStream()), nameLength),
  },
  {
    name: "EnvelopeDecoderStream(ndjson)",
    run: (corpus) =>
      drain(source(corpus.ndjson).pipeThrough(new EnvelopeDecoderStream("ndjson")), nameLength),
  },
  {
    name: "naive TextDecoderStream + split NDJSON",
    run: (corpus) => naiveNdjson(source(corpus.ndjson)),
  },
  {
    name: "SseParserStream + JSON.parse",
    run: (corpus) =>
      drain(source(corpus.sse).pipeThrough(new SseParserStream()), (m) => parsedNameLength(m.data)),
  },
  {
    name: "EnvelopeDecoderStream(sse)",
    run: (corpus) =>
      drain(source(corpus.sse).pipeThrough(new EnvelopeDecoderStream("sse")), nameLength),
  },
  // The client's own path: what the listener (and so the worker) reads
  // through, one batch of envelopes per body chunk, each settled.
  {
    name: "EventsClient.open() + nextBatch() (NDJSON)",
    run: async (corpus) =>
      countBatches(await clientFor(corpus.ndjson, "application/x-ndjson").open(STREAM)),
  },
  {
    name: "EventsClient.open() + nextBatch() (SSE)",
    run: async (corpus) =>
      countBatches(await clientFor(corpus.sse, "text/event-stream").open(STREAM)),
  },
  // One `for await` step, so one promise, per envelope.
  {
    name: "EventsClient.stream() (NDJSON)",
    run: (corpus) =>
      countEnvelopes(clientFor(corpus.ndjson, "application/x-ndjson").stream(STREAM)),
  },
  {
    name: "EventsClient.stream() (SSE)",
    run: (corpus) => countEnvelopes(clientFor(corpus.sse, "text/event-stream").stream(STREAM)),
  },
  // The whole listener around it: receipts, settlement, readiness.
  {
    name: "listen() (NDJSON)",
    run: (corpus) => countListened(clientFor(corpus.ndjson, "application/x-ndjson")),
  },
  {
    name: "listen() (SSE)",
    run: (corpus) => countListened(clientFor(corpus.sse, "text/event-stream")),
  },
  // The transport-free state machines, fed chunk by chunk with callbacks: the
  // same work without a promise per value, and the shape eventsource-parser's
  // own `createParser` has.
  {
    name: "NdjsonParser (callbacks)",
    run: (corpus) => {
      let count = 0;
      let check = 0;
      const parser = new NdjsonParser(DEFAULT_MAX_LINE_BYTES, {
        onValue: (value) => {
          check += nameLength(value);
          count++;
        },
      });
      for (const chunk of corpus.ndjson) parser.feed(chunk);
      parser.end();
      return settled(count, check);
    },
  },
  {
    name: "SseParser (callbacks) + JSON.parse",
    run: (corpus) => {
      let count = 0;
      let check = 0;
      const parser = new SseParser(DEFAULT_MAX_LINE_BYTES, {
        onEvent: (_event, data) => {
          check += parsedNameLength(data);
          count++;
        },
      });
      for (const chunk of corpus.sse) parser.feed(chunk);
      parser.end();
      return settled(count, check);
    },
  },
  {
    name: "eventsource-parser createParser (callbacks) + JSON.parse",
    run: (corpus) => {
      let count = 0;
      let check = 0;
      const parser = createParser({
        onEvent: (message) => {
          check += parsedNameLength(message.data);
          count++;
        },
      });
      const decoder = new TextDecoder();
      for (const chunk of corpus.sse) parser.feed(decoder.decode(chunk, { stream: true }));
      return settled(count, check);
    },
  },
  {
    name: "eventsource-parser + JSON.parse",
    run: (corpus) =>
      drain(
        source(corpus.sse).pipeThrough(new TextDecoderStream()).pipeThrough(
          new EventSourceParserStream(),
        ),
        (m) => parsedNameLength(m.data),
      ),
  },
  // The least any decoder of these bodies does, for reading the client rows:
  // turn the body's chunks into text, then parse each record (the floor's
  // own strings). The targets are ratios to the floor, so this much of them
  // is taken before a line is found or an envelope checked. Appended, so
  // the indexes `CASES` picks by stay as they were.
  {
    name: "decode floor (TextDecoder of the NDJSON chunks + floor)",
    run: (corpus) => decodeFloor(corpus.ndjson, corpus.strings),
  },
  {
    name: "decode floor (TextDecoder of the SSE chunks + floor)",
    run: (corpus) => decodeFloor(corpus.sse, corpus.strings),
  },
];

/**
 * Decodes every chunk, then parses the floor's strings. Each chunk is
 * decoded on its own (the corpus is ASCII, so no character is split) with
 * the settings the parsers use, the fastest everywhere: `ignoreBOM` and no
 * `{ stream: true }` (on Node 20 and 22 either other choice costs about 4×).
 */
function decodeFloor(chunks: Uint8Array[], strings: string[]): Promise<number> {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let units = 0;
  for (const chunk of chunks) units += decoder.decode(chunk).length;
  let check = 0;
  for (const json of strings) check += nameLength(JSON.parse(json));
  return settled(units === 0 ? 0 : strings.length, check);
}

function settled(count: number, check: number): Promise<number> {
  if (check === 0) throw new Error("Cannot benchmark: nothing was decoded");
  return Promise.resolve(count);
}

async function naiveNdjson(body: ReadableStream<Uint8Array>): Promise<number> {
  let count = 0;
  let check = 0;
  let rest = "";
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      check += nameLength(JSON.parse(line));
      count++;
    }
  }
  if (rest.trim() !== "") {
    check += nameLength(JSON.parse(rest));
    count++;
  }
  if (check === 0) throw new Error("Cannot benchmark: nothing was decoded");
  return count;
}

/** What the client cases stream (the in-process answer ignores it). */
const STREAM = { name: "bus.ssh.script.run.request" };

/** A client whose stream requests are answered in-process with `chunks`. */
function clientFor(chunks: Uint8Array[], contentType: string): EventsClient {
  return new EventsClient({
    baseUrl: "http://bus.test",
    fetch: () =>
      Promise.resolve(new Response(source(chunks), { headers: { "content-type": contentType } })),
  });
}

async function countEnvelopes(envelopes: AsyncIterable<EventEnvelope>): Promise<number> {
  let count = 0;
  let check = 0;
  for await (const envelope of envelopes) {
    check += nameLength(envelope);
    count++;
  }
  return settled(count, check);
}

async function countBatches(stream: EventStream): Promise<number> {
  let count = 0;
  let check = 0;
  let batch: readonly EventEnvelope[] | undefined;
  while ((batch = await stream.nextBatch()) !== undefined) {
    for (const envelope of batch) {
      check += nameLength(envelope);
      count++;
      // HTTP settlement is bookkeeping only; it never rejects.
      stream.settle(envelope, DONE);
    }
  }
  return settled(count, check);
}

async function countListened(client: EventsClient): Promise<number> {
  let count = 0;
  let check = 0;
  await listen({
    transport: client,
    stream: { ...STREAM, follow: false },
    reconnect: false,
    onEvent: (envelope) => {
      check += nameLength(envelope);
      count++;
    },
  });
  return settled(count, check);
}

const DONE = { type: "done" } as const;
