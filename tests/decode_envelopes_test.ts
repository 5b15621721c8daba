import assert from "node:assert/strict";
import type { EventEnvelope } from "../src/envelope.ts";
import { StreamProtocolError } from "../src/errors.ts";
import { framingForContentType } from "../src/content_type.ts";
import { EnvelopeParser } from "../src/decode/envelope_parser.ts";
import { EnvelopeDecoderStream } from "../src/decode/envelope_stream.ts";
import type { InvalidInput, StreamFraming } from "../src/decode/types.ts";
import {
  assertEveryChunking,
  collect,
  type Collected,
  randomChunks,
  randomText,
  utf8,
} from "./_decode_helpers.ts";
import { prng } from "../src/testing/prng.ts";

interface Decoded extends Collected<EventEnvelope> {
  invalid: string[];
  kinds: string[];
  retries: number[];
  /** `lastEventId` after the stream ended. */
  lastEventId: string | undefined;
}

async function decode(
  framing: StreamFraming,
  chunks: Uint8Array[],
  maxLineBytes?: number,
): Promise<Decoded> {
  const invalid: string[] = [];
  const kinds: string[] = [];
  const retries: number[] = [];
  const stream = new EnvelopeDecoderStream(framing, {
    onInvalid: (input: InvalidInput) => {
      invalid.push(input.reason);
      kinds.push(input.kind);
    },
    onRetry: (ms) => retries.push(ms),
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
  });
  const result = await collect(stream, chunks);
  return { ...result, invalid, kinds, retries, lastEventId: stream.lastEventId };
}

/** `lastEventId` after decoding each prefix of `parts` (none, the first, …). */
async function idsAfterEachPart(
  framing: StreamFraming,
  parts: string[],
): Promise<(string | undefined)[]> {
  const ids: (string | undefined)[] = [];
  for (let end = 0; end <= parts.length; end++) {
    ids.push((await decode(framing, [utf8(parts.slice(0, end).join(""))])).lastEventId);
  }
  return ids;
}

/** Reads one envelope at a time from a single chunk, noting `lastEventId` after each read. */
async function idsAsRead(framing: StreamFraming, input: string): Promise<(string | undefined)[]> {
  const stream = new EnvelopeDecoderStream(framing);
  const reader = new Response(input).body!.pipeThrough(stream).getReader();
  const ids: (string | undefined)[] = [stream.lastEventId];
  while (!(await reader.read()).done) ids.push(stream.lastEventId);
  ids.push(stream.lastEventId);
  return ids;
}

Deno.test("framingForContentType() maps media types to framings", () => {
  assert.equal(framingForContentType("application/x-ndjson"), "ndjson");
  assert.equal(framingForContentType("application/jsonl"), "ndjson");
  assert.equal(framingForContentType("Application/X-NDJSON; charset=utf-8"), "ndjson");
  assert.equal(framingForContentType("text/event-stream"), "sse");
  assert.equal(framingForContentType(" TEXT/Event-Stream ;charset=UTF-8"), "sse");
  assert.equal(framingForContentType(null), "ndjson");
  assert.equal(framingForContentType(""), "ndjson");
  assert.equal(framingForContentType("  "), "ndjson");
  // Docker-style event streams send one JSON document per line as application/json.
  assert.equal(framingForContentType("application/json"), "ndjson");
  assert.equal(framingForContentType("Application/JSON; charset=utf-8"), "ndjson");
  assert.equal(framingForContentType("application/json-seq"), undefined);
  assert.equal(framingForContentType("application/problem+json"), undefined);
  assert.equal(framingForContentType("text/html"), undefined);
  assert.equal(framingForContentType("text/event-streams"), undefined);
});

Deno.test("EnvelopeDecoderStream rejects an unknown framing", () => {
  assert.throws(() => new EnvelopeDecoderStream("json" as StreamFraming), TypeError);
  assert.throws(() => new EnvelopeDecoderStream("sse", { maxLineBytes: 0 }), RangeError);
});

Deno.test("EnvelopeDecoderStream(ndjson) decodes envelopes and keeps unknown fields", async () => {
  const input = '{"id":"1","name":"a.b","payload":{"x":[1]},"extra":true}\n{"name":"c"}\n';
  await assertEveryChunking(utf8(input), (chunks) => decode("ndjson", chunks), {
    values: [{ id: "1", name: "a.b", payload: { x: [1] }, extra: true }, { name: "c" }],
    invalid: [],
    kinds: [],
    retries: [],
    lastEventId: "1",
  });
});

Deno.test("EnvelopeDecoderStream(ndjson) reports non-envelopes and malformed JSON and goes on", async () => {
  const input = '{"name":"a"}\n{}\n[1]\n7\n{"name":1}\n{"name":\n{"name":"b"}\n';
  await assertEveryChunking(utf8(input), async (chunks) => {
    const result = await decode("ndjson", chunks);
    // The JSON error text differs between runtimes; only its prefix is ours.
    const reasons = result.invalid.map((r) => r.startsWith("invalid JSON: ") ? "invalid JSON" : r);
    assert.deepStrictEqual(result.kinds, [...Array(4).fill("not-an-envelope"), "invalid-json"]);
    return { values: result.values, reasons };
  }, {
    values: [{ name: "a" }, { name: "b" }],
    reasons: [
      "not an envelope: the envelope has no string name",
      "not an envelope: not a JSON object",
      "not an envelope: not a JSON object",
      "not an envelope: the envelope has no string name",
      "invalid JSON",
    ],
  });
});

Deno.test("EnvelopeDecoderStream(ndjson) keeps the last string id as lastEventId", async () => {
  const parts = [
    '{"id":"1","name":"a"}\n',
    '{"name":"b"}\n', // no id: keeps "1"
    '{"id":2,"name":"c"}\n', // not a string: keeps "1"
    '{"id":"3","name":"d"}\n',
    '{"id":"4"}\n', // not an envelope: keeps "3"
  ];
  assert.deepStrictEqual(await idsAfterEachPart("ndjson", parts), [
    undefined,
    "1",
    "1",
    "1",
    "3",
    "3",
  ]);
});

Deno.test("EnvelopeDecoderStream(sse) decodes one envelope per event of any type", async () => {
  const input = 'id: 1\ndata: {"id":"1","name":"a"}\n\nevent: other\ndata: {"name":"b",\n' +
    'data: "extra":1}\n\nretry: 250\n\n';
  await assertEveryChunking(utf8(input), (chunks) => decode("sse", chunks), {
    values: [{ id: "1", name: "a" }, { name: "b", extra: 1 }],
    invalid: [],
    kinds: [],
    retries: [250],
    lastEventId: "1",
  });
});

Deno.test("EnvelopeDecoderStream(sse) reports data that is not JSON or not an envelope", async () => {
  const input = 'data: {"name":"a"}\n\ndata: hello\n\ndata: {"nom":"x"}\n\ndata: {"name":"b"}\n\n';
  const result = await decode("sse", [utf8(input)]);
  assert.deepStrictEqual(result.values, [{ name: "a" }, { name: "b" }]);
  assert.equal(result.invalid.length, 2);
  assert.match(result.invalid[0] as string, /^invalid JSON in SSE data: /);
  assert.equal(result.invalid[1], "not an envelope: the envelope has no string name");
});

Deno.test("EnvelopeDecoderStream(sse) tracks the SSE last-event-ID of emitted envelopes", async () => {
  const parts = [
    'id: 1\ndata: {"name":"a"}\n\n',
    'data: {"name":"b"}\n\n', // the buffer persists: "1"
    "id: 2\ndata: not json\n\n", // skipped, and never delivered: resume after it
    'data: {"name":"c"}\n\n', // the buffer persists: "2"
    'id\ndata: {"name":"d"}\n\n', // reset to empty: "", not "no id seen"
  ];
  assert.deepStrictEqual(await idsAfterEachPart("sse", parts), [
    undefined,
    "1",
    "1",
    "2",
    "2",
    "",
  ]);
});

Deno.test("EnvelopeDecoderStream lastEventId follows what the reader has received", async () => {
  // All envelopes arrive in one chunk and are queued at once; lastEventId
  // still moves one envelope per read (and once more for the end).
  const ndjson = '{"id":"1","name":"a"}\n{"name":"b"}\n{"id":"3","name":"c"}\n';
  assert.deepStrictEqual(await idsAsRead("ndjson", ndjson), [undefined, "1", "1", "3", "3"]);
  const sse = 'id: 1\ndata: {"name":"a"}\n\ndata: {"name":"b"}\n\nid: 3\ndata: {"name":"c"}\n\n' +
    'id\ndata: {"name":"d"}\n\n';
  assert.deepStrictEqual(await idsAsRead("sse", sse), [
    undefined,
    "1",
    "1",
    "3",
    "",
    "",
  ]);
});

Deno.test("EnvelopeDecoderStream lastEventId does not skip envelopes dropped when the body fails", async () => {
  for (
    const [framing, input] of [
      ["ndjson", '{"id":"1","name":"a"}\n{"id":"2","name":"b"}\n{"id":"3","name":"c"}\n'],
      [
        "sse",
        'id: 1\ndata: {"name":"a"}\n\nid: 2\ndata: {"name":"b"}\n\nid: 3\ndata: {"name":"c"}\n\n',
      ],
    ] as const
  ) {
    const failure = new Error("connection reset");
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(utf8(input));
        else controller.error(failure);
      },
    });
    const stream = new EnvelopeDecoderStream(framing);
    const reader = body.pipeThrough(stream).getReader();
    assert.deepStrictEqual((await reader.read()).value, {
      ...(framing === "ndjson" ? { id: "1" } : {}),
      name: "a",
    });
    // Let the pipe see the failure: the stream then drops "b" and "c" unread.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(reader.read(), (error) => error === failure);
    assert.equal(stream.lastEventId, "1", framing);
  }
});

Deno.test("EnvelopeDecoderStream keeps going when onInvalid throws", async () => {
  for (
    const [framing, input] of [
      ["ndjson", 'bad\n{"name":"a"}\n{}\n{"name":"b"}\n'],
      ["sse", 'data: bad\n\ndata: {"name":"a"}\n\ndata: {}\n\ndata: {"name":"b"}\n\n'],
    ] as const
  ) {
    let calls = 0;
    const stream = new EnvelopeDecoderStream(framing, {
      onInvalid: () => {
        calls++;
        throw new Error("handler failed");
      },
    });
    const result = await collect(stream, [utf8(input)]);
    assert.deepStrictEqual(result, { values: [{ name: "a" }, { name: "b" }] }, framing);
    assert.equal(calls, 2, framing);
  }
});

Deno.test("EnvelopeDecoderStream skips an oversized line or event and decodes the ones after it", async () => {
  const name = `{"name":"${"x".repeat(64)}"}`; // 75 bytes
  const cases = [
    ["ndjson", `{"name":"a"}\n${name}\n{"name":"b"}\n`, 75],
    ["sse", `data: {"name":"a"}\n\ndata: ${name}\n\ndata: {"name":"b"}\n\n`, 81],
  ] as const;
  for (const [framing, input, size] of cases) {
    await assertEveryChunking(utf8(input), async (chunks) => {
      const invalid: InvalidInput[] = [];
      const stream = new EnvelopeDecoderStream(framing, {
        maxLineBytes: 32,
        onInvalid: (input) => invalid.push(input),
      });
      const result = await collect(stream, chunks);
      return {
        ...result,
        invalid: invalid.map(({ kind, size, limit }) => ({ kind, size, limit })),
      };
    }, {
      values: [{ name: "a" }, { name: "b" }],
      invalid: [{ kind: "too-large", size, limit: 32 }],
    });
  }
});

Deno.test("EnvelopeDecoderStream(sse) resumes after an oversized event from the id that follows its data", async () => {
  // The poison event's id comes after its oversized data line; it still
  // moves lastEventId, so a reconnect does not fetch the poison again.
  const input = `id: 1\ndata: {"name":"a"}\n\ndata: {"name":"${"x".repeat(64)}"}\nid: 2\n\n`;
  await assertEveryChunking(utf8(input), async (chunks) => {
    const result = await decode("sse", chunks, 32);
    return { names: result.values.map((e) => e.name), lastEventId: result.lastEventId };
  }, { names: ["a"], lastEventId: "2" });
  // An envelope after it without an id of its own resumes from that id too.
  const after = await decode("sse", [utf8(`${input}data: {"name":"b"}\n\n`)], 32);
  assert.deepStrictEqual(after.values, [{ name: "a" }, { name: "b" }]);
  assert.equal(after.lastEventId, "2");
});

Deno.test("EnvelopeDecoderStream decodes thousands of envelopes at random chunkings", async () => {
  const random = prng(3);
  const envelopes: EventEnvelope[] = [];
  for (let i = 0; i < 3000; i++) {
    envelopes.push({
      id: `${i}`,
      name: "bus.test.event",
      correlationId: randomText(random, 10),
      payload: { text: randomText(random, 80), n: i },
    });
  }
  const ndjson = utf8(envelopes.map((e) => JSON.stringify(e)).join("\n"));
  const sse = utf8(envelopes.map((e) => `id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`).join(""));
  for (const maxSize of [1, 13, 1024, 65536]) {
    for (const [framing, bytes] of [["ndjson", ndjson], ["sse", sse]] as const) {
      const result = await decode(framing, randomChunks(bytes, random, maxSize));
      assert.deepStrictEqual(result.values, envelopes, `${framing}, chunks up to ${maxSize}`);
      assert.equal(result.lastEventId, "2999");
      assert.deepStrictEqual(result.invalid, []);
    }
  }
});

Deno.test("StreamProtocolError() takes its fields from the options and builds the message", () => {
  const cause = new Error("the reason");
  const error = new StreamProtocolError({ framing: "ndjson", limit: 1048576, cause });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "StreamProtocolError");
  assert.equal(error.message, "Cannot read stream: an NDJSON line exceeds maxLineBytes (1048576)");
  assert.equal(error.framing, "ndjson");
  assert.equal(error.oversized, "line");
  assert.equal(error.limit, 1048576);
  assert.equal(error.size, undefined);
  assert.equal(error.cause, cause);
  const event = new StreamProtocolError({
    framing: "sse",
    oversized: "event",
    limit: 16,
    size: 17,
  });
  assert.equal(event.message, "Cannot read stream: an SSE event exceeds maxLineBytes (16)");
  assert.equal(event.size, 17);
  assert.equal("cause" in event, false);
});

Deno.test("EnvelopeParser keeps each envelope's resume ID at its index until clear()", () => {
  const cases = [
    ["ndjson", ['{"id":"1","name":"a"}\nbad\n{"name":"b"}\n', '{"id":"3","name":"c"}\n']],
    ["sse", [
      'id: 1\ndata: {"name":"a"}\n\ndata: bad\n\ndata: {"name":"b"}\n\n',
      'id: 3\ndata: {"name":"c"}\n\n',
    ]],
  ] as const;
  for (const [framing, [first, second]] of cases) {
    const invalid: string[] = [];
    const parser = new EnvelopeParser(framing, 1024, {
      onInvalid: (input) => invalid.push(input.excerpt),
    });
    const { envelopes, resumeIds } = parser;
    parser.feed(utf8(first));
    // Not cleared: the next chunk appends after what is still held.
    parser.feed(utf8(second));
    parser.end();
    assert.deepStrictEqual(envelopes.map((e) => e.name), ["a", "b", "c"], framing);
    assert.deepStrictEqual(resumeIds, ["1", "1", "3"], framing);
    assert.deepStrictEqual(invalid, ["bad"], framing);
    parser.clear();
    assert.equal(parser.envelopes, envelopes, "the same array after clear()");
    assert.deepStrictEqual([envelopes.length, resumeIds.length], [0, 0], framing);
  }
});

Deno.test("EnvelopeParser.resumeId moves past skipped records, the resume IDs only with envelopes", () => {
  for (
    const [framing, input, resumeId] of [
      // NDJSON cannot read the id of a line it skips: it stays at "1".
      ["ndjson", `{"id":"1","name":"a"}\n{"id":"2","name":"${"x".repeat(64)}"}\nbad\n`, "1"],
      [
        "sse",
        `id: 1\ndata: {"name":"a"}\n\nid: 2\ndata: ${"x".repeat(64)}\n\nid: 3\ndata: bad\n\n`,
        "3",
      ],
    ] as const
  ) {
    const kinds: string[] = [];
    const parser = new EnvelopeParser(
      framing,
      32,
      { onInvalid: (input) => kinds.push(input.kind) },
      "0",
    );
    assert.equal(parser.resumeId, "0", "seeded with the ID the stream was opened with");
    parser.feed(utf8(input));
    assert.deepStrictEqual(parser.envelopes.map((e) => e.name), ["a"], framing);
    assert.deepStrictEqual(parser.resumeIds, ["1"], framing);
    assert.deepStrictEqual(kinds, ["too-large", "invalid-json"], framing);
    assert.equal(parser.resumeId, resumeId, framing);
  }
});

Deno.test("EnvelopeParser(sse) keeps the opened-with ID for events without one", () => {
  const parser = new EnvelopeParser("sse", 1024, {}, "41");
  parser.feed(utf8('data: {"name":"a"}\n\nid: 42\ndata: {"name":"b"}\n\n'));
  assert.deepStrictEqual(parser.resumeIds, ["41", "42"]);
});

Deno.test("EnvelopeDecoderStream loses no envelope when onInvalid or onRetry reads lastEventId", async () => {
  // The reader has taken all of the first chunk when the handlers run, in the
  // middle of the second: "c" is parsed and not yet enqueued.
  const cases = [
    ["ndjson", [
      '{"id":"1","name":"a"}\n{"id":"2","name":"b"}\n',
      '{"id":"3","name":"c"}\nbad\n{"id":"4","name":"d"}\n',
    ]],
    ["sse", [
      'id: 1\ndata: {"name":"a"}\n\nid: 2\ndata: {"name":"b"}\n\n',
      'id: 3\ndata: {"name":"c"}\n\nretry: 5\ndata: bad\n\nid: 4\ndata: {"name":"d"}\n\n',
    ]],
  ] as const;
  for (const [framing, chunks] of cases) {
    const seen: (string | undefined)[] = [];
    const stream: EnvelopeDecoderStream = new EnvelopeDecoderStream(framing, {
      onInvalid: () => seen.push(stream.lastEventId),
      onRetry: () => seen.push(stream.lastEventId),
    });
    const result = await collect(stream, chunks.map(utf8));
    assert.deepStrictEqual(result.values.map((e) => e.name), ["a", "b", "c", "d"], framing);
    assert.deepStrictEqual(seen, framing === "sse" ? ["2", "2"] : ["2"], framing);
    assert.equal(stream.lastEventId, "4", framing);
  }
});
