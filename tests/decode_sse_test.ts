import assert from "node:assert/strict";
import { SseParserStream } from "../src/decode/sse.ts";
import type { InvalidInput, SseMessage } from "../src/decode/types.ts";
import {
  assertEveryChunking,
  collect,
  type Collected,
  measureDiscard,
  randomChunks,
  randomText,
  utf8,
} from "./_decode_helpers.ts";
import { prng } from "../src/testing/prng.ts";

type Retry = { retries: number[] };
type Invalid = { invalid: InvalidInput[] };

async function parse(
  chunks: Uint8Array[],
  maxLineBytes?: number,
): Promise<Collected<SseMessage> & Retry> {
  return withoutInvalid(await parseAll(chunks, maxLineBytes));
}

/** Like `parse`, with what `onInvalid` heard. */
async function parseAll(
  chunks: Uint8Array[],
  maxLineBytes?: number,
): Promise<Collected<SseMessage> & Retry & Invalid> {
  const retries: number[] = [];
  const invalid: InvalidInput[] = [];
  const stream = new SseParserStream({
    onRetry: (ms) => retries.push(ms),
    onInvalid: (input) => invalid.push(input),
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
  });
  return { ...(await collect(stream, chunks)), retries, invalid };
}

function withoutInvalid<T extends Invalid>({ invalid, ...rest }: T): Omit<T, "invalid"> {
  if (invalid.length > 0) throw new Error(`Unexpected onInvalid: ${JSON.stringify(invalid)}`);
  return rest;
}

/** What `onInvalid` hears of an event dropped at `size` bytes, quoting `excerpt`. */
function tooLarge(size: number, limit: number, excerpt: string): InvalidInput {
  return {
    kind: "too-large",
    reason: `too large: the SSE event is ${size} bytes, over maxLineBytes (${limit})`,
    excerpt,
    size,
    limit,
  };
}

/** Parses `input` with `maxLineBytes` at every chunking; each must give exactly `expected`. */
async function assertDropped(
  input: string,
  maxLineBytes: number,
  expected: { values: SseMessage[]; retries?: number[]; invalid: InvalidInput[] },
): Promise<void> {
  await assertEveryChunking(utf8(input), (chunks) => parseAll(chunks, maxLineBytes), {
    retries: [],
    ...expected,
  });
}

/** Parses `input` at every chunking; each must give exactly these messages. */
async function assertMessages(
  input: string | Uint8Array,
  messages: SseMessage[],
  retries: number[] = [],
): Promise<void> {
  await assertEveryChunking(
    typeof input === "string" ? utf8(input) : input,
    (chunks) => parse(chunks),
    { values: messages, retries },
  );
}

function message(data: string, lastEventId = "", event = "message"): SseMessage {
  return { event, data, lastEventId };
}

Deno.test("SseParserStream strips one leading BOM", async () => {
  await assertMessages("\uFEFFdata: a\n\n", [message("a")]);
});

Deno.test("SseParserStream keeps a second BOM as data", async () => {
  // The second BOM makes the field name "\uFEFFdata", an unknown field.
  await assertMessages("\uFEFF\uFEFFdata: a\n\ndata: b\n\n", [message("b")]);
  await assertMessages("data: a\n\n\uFEFFdata: b\n\n", [message("a")]);
  await assertMessages("data: \uFEFFa\n\n", [message("\uFEFFa")]);
});

Deno.test("SseParserStream ends lines at LF", async () => {
  await assertMessages("data: a\ndata: b\n\ndata: c\n\n", [message("a\nb"), message("c")]);
});

Deno.test("SseParserStream ends lines at CR", async () => {
  await assertMessages("data: a\rdata: b\r\rdata: c\r\r", [message("a\nb"), message("c")]);
});

Deno.test("SseParserStream ends lines at CRLF", async () => {
  await assertMessages("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", [
    message("a\nb"),
    message("c"),
  ]);
});

Deno.test("SseParserStream reads a CRLF split across chunks as one line end", async () => {
  const bytes = utf8("data: a\r\ndata: b\r\n\r\n");
  const split = bytes.indexOf(10); // between the first CR and LF
  const result = await parse([bytes.subarray(0, split), bytes.subarray(split)]);
  assert.deepStrictEqual(result.values, [message("a\nb")]);
  // A blank CRLF line split the same way dispatches once, not twice.
  await assertMessages("data: a\r\n\r\ndata: b\r\n\r\n", [message("a"), message("b")]);
});

Deno.test("SseParserStream reads LF then CR as two line ends", async () => {
  await assertMessages("data: a\n\rdata: b\r\n\n", [message("a"), message("b")]);
});

Deno.test("SseParserStream dispatches at a final CR blank line", async () => {
  await assertMessages("data: a\r\r", [message("a")]);
});

Deno.test("SseParserStream ignores comment lines", async () => {
  await assertMessages(": hello\ndata: a\n: data: b\n\n:\n\n", [message("a")]);
});

Deno.test("SseParserStream reads a field without colon as a field with empty value", async () => {
  await assertMessages("data\n\ndata\ndata\n\n", [message(""), message("\n")]);
  await assertMessages("id: 1\ndata: a\n\nid\ndata: b\n\n", [message("a", "1"), message("b")]);
  await assertMessages("event: x\nevent\ndata: a\n\n", [message("a")]);
});

Deno.test("SseParserStream strips exactly one space after the colon", async () => {
  await assertMessages("data:  two\n\ndata:none\n\ndata:\ttab\n\ndata: \n\n", [
    message(" two"),
    message("none"),
    message("\ttab"),
    message(""),
  ]);
});

Deno.test("SseParserStream joins data lines with \\n", async () => {
  await assertMessages("data: a\ndata: b\ndata: c\n\ndata: a\ndata:\n\n", [
    message("a\nb\nc"),
    message("a\n"),
  ]);
});

Deno.test("SseParserStream dispatches only on a blank line", async () => {
  await assertMessages("data: a\nevent: x\nid: 1\n", []);
  await assertMessages("data: a\n\n", [message("a")]);
});

Deno.test("SseParserStream does not dispatch an event without data", async () => {
  // The event type is reset too, so the next event is a "message".
  await assertMessages("event: x\n\nid: 3\n\n: c\n\n\n\ndata: y\n\n", [message("y", "3")]);
});

Deno.test("SseParserStream defaults the event type to message", async () => {
  await assertMessages("event: update\ndata: a\n\ndata: b\n\nevent:\ndata: c\n\n", [
    message("a", "", "update"),
    message("b"),
    message("c"),
  ]);
});

Deno.test("SseParserStream ignores an id containing NUL", async () => {
  await assertMessages("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n", [
    message("a", "1"),
    message("b", "1"),
  ]);
});

Deno.test("SseParserStream keeps the last event ID across events and resets it on empty id", async () => {
  await assertMessages("id: 1\ndata: a\n\ndata: b\n\nid: 5\n\ndata: c\n\nid:\ndata: d\n\n", [
    message("a", "1"),
    message("b", "1"),
    message("c", "5"),
    message("d", ""),
  ]);
});

Deno.test("SseParserStream passes retry to onRetry only when it is all ASCII digits", async () => {
  await assertMessages(
    "retry: 1500\nretry: 10a\nretry: -1\nretry:\nretry: 1.5\nretry:  15\nretry\nretry: 0\ndata: a\n\n",
    [message("a")],
    [1500, 0],
  );
});

Deno.test("SseParserStream ignores unknown fields", async () => {
  await assertMessages("foo: bar\nData: x\ndata : y\ndatax: z\nids: 9\ndata: a\n\n", [
    message("a"),
  ]);
});

Deno.test("SseParserStream discards an incomplete event at the end of the stream", async () => {
  await assertMessages("data: a\n\ndata: b\n", [message("a")]);
  await assertMessages("data: a\n\ndata: b", [message("a")]);
  await assertMessages("data: a\n\nid: 9", [message("a")]);
});

Deno.test("SseParserStream drops an event with an oversized line and delivers the events after it", async () => {
  const line = `data: ${"x".repeat(40)}`; // 46 bytes
  await assertDropped(`data: a\n\n${line}\n\ndata: b\n\n`, 16, {
    values: [message("a"), message("b")],
    invalid: [tooLarge(46, 16, line)],
  });
  await assertDropped(`data: a\r\n\r\n${line}\r\rdata: b\r\n\r\n`, 16, {
    values: [message("a"), message("b")],
    invalid: [tooLarge(46, 16, line)],
  });
});

Deno.test("SseParserStream still reads the id and retry of a dropped event after its oversized line", async () => {
  const line = `data: ${"x".repeat(40)}`;
  await assertDropped(
    `id: 1\ndata: a\n\nevent: big\n${line}\nid: 2\nretry: 700\ndata: more\n\ndata: b\n\n`,
    16,
    // The dropped event's data: 46 bytes, then "\nmore".
    {
      values: [message("a", "1"), message("b", "2")],
      retries: [700],
      invalid: [tooLarge(51, 16, line)],
    },
  );
});

Deno.test("SseParserStream decodes UTF-8 split across chunks", async () => {
  await assertMessages("id: ä\ndata: ä€😀\n\n", [message("ä€😀", "ä")]);
});

Deno.test("SseParserStream discards a line that never ends and reports what arrived of it", async () => {
  const chunks = [
    utf8("data: ok\n\ndata: "),
    ...Array.from({ length: 100 }, () => utf8("x".repeat(10))),
    utf8("\nid: 5\n\ndata: next\n\n"),
  ];
  const result = await parseAll(chunks, 64);
  assert.deepStrictEqual(result.values, [message("ok"), message("next", "5")]);
  assert.deepStrictEqual(result.invalid, [tooLarge(1006, 64, `data: ${"x".repeat(250)}`)]);
  // Cut off by the end of the input, it is reported with the bytes that came.
  const cut = await parseAll(chunks.slice(0, 51), 64);
  assert.deepStrictEqual(cut.values, [message("ok")]);
  assert.deepStrictEqual(cut.invalid, [tooLarge(506, 64, `data: ${"x".repeat(250)}`)]);
});

Deno.test("SseParserStream drops an event whose data lines together exceed maxLineBytes", async () => {
  // Each line fits in 16 bytes; the event's data ("12345\n12345\n12345") is 17.
  await assertDropped("data: a\n\ndata: 12345\ndata: 12345\ndata: 12345\n\ndata: b\n\n", 16, {
    values: [message("a"), message("b")],
    invalid: [tooLarge(17, 16, "12345\n12345\n12345")],
  });
  // Data lines after the bound was passed add their bytes and the "\n".
  await assertDropped("data: 12345\ndata: 12345\ndata: 12345\ndata: 1\n\ndata: b\n\n", 16, {
    values: [message("b")],
    invalid: [tooLarge(19, 16, "12345\n12345\n12345")],
  });
  const fits = await parse([utf8("data: 12345\ndata: 12345\ndata: 1234\n\n")], 16);
  assert.deepStrictEqual(fits, { values: [message("12345\n12345\n1234")], retries: [] });
});

Deno.test("SseParserStream counts the data before an oversized line in the dropped event's size", async () => {
  // "ab" (2) + "\n" + the 25-byte line, then another oversized line (+1 +21).
  const long = `data: ${"y".repeat(19)}`;
  await assertDropped(`data: ab\n${long}\n: ${"c".repeat(19)}\n\ndata: z\n\n`, 16, {
    values: [message("z")],
    invalid: [tooLarge(2 + 1 + 25 + 1 + 21, 16, long)],
  });
});

Deno.test("SseParserStream counts maxLineBytes in exact UTF-8 bytes", async () => {
  // "data:😀€" is 5 + 4 + 3 = 12 bytes; two lines of data "€€\n€€" are 13.
  const exact = await parse([utf8("data:😀€\n\n")], 12);
  assert.deepStrictEqual(exact.values, [message("😀€")]);
  await assertDropped("data:😀€x\n\n", 12, {
    values: [],
    invalid: [tooLarge(13, 12, "data:😀€x")],
  });
  await assertDropped("data:€€\ndata:€€\n\n", 12, {
    values: [],
    invalid: [tooLarge(13, 12, "€€\n€€")],
  });
  const eventFits = await parse([utf8("data:€€\ndata:€\n\n")], 12);
  assert.deepStrictEqual(eventFits.values, [message("€€\n€")]);
  // Once counted exactly, each further data line adds its bytes and the "\n":
  // "€\n€\n€\n€" is 15 bytes, and each empty data line adds 1.
  const grown = `${"data:€\n".repeat(4)}${"data:\n".repeat(5)}`;
  const grownFits = await parse([utf8(`${grown}\n`)], 20);
  assert.deepStrictEqual(grownFits.values, [message("€\n€\n€\n€\n\n\n\n\n")]);
  const grownOver = await parseAll([utf8(`${grown}data:\n\n`)], 20);
  assert.deepStrictEqual(grownOver.values, []);
  assert.deepStrictEqual(grownOver.invalid.map((i) => i.size), [21]);
  // A held line is bounded the same way before it ends.
  const held = await parseAll([utf8("data:😀€")], 12);
  assert.deepStrictEqual(held.invalid, [], "an unfinished line that fits is dropped silently");
  const heldOver = await parseAll([utf8("data:😀€x")], 12);
  assert.deepStrictEqual(heldOver.invalid, [tooLarge(13, 12, "data:😀€x")]);
});

Deno.test("SseParserStream keeps going when onRetry throws", async () => {
  const stream = new SseParserStream({
    onRetry: () => {
      throw new Error("observer failed");
    },
  });
  const result = await collect(stream, [utf8("retry: 5\ndata: a\n\n")]);
  assert.deepStrictEqual(result, { values: [message("a")] });
});

Deno.test("SseParserStream rejects a maxLineBytes that is not a positive integer", () => {
  for (const maxLineBytes of [0, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => new SseParserStream({ maxLineBytes }), RangeError);
  }
});

Deno.test("SseParserStream decodes thousands of random events at random chunkings", async () => {
  const random = prng(7);
  const endings = ["\n", "\r", "\r\n"];
  const ending = () => endings[Math.floor(random() * endings.length)];
  // After a line ending in CR, a blank line written as LF would complete a
  // CRLF instead of being a line of its own.
  const blank = () => text.endsWith("\r") ? (random() < 0.5 ? "\r" : "\r\n") : ending();
  let text = "\uFEFF";
  const expected: SseMessage[] = [];
  const retries: number[] = [];
  let lastEventId = "";
  for (let i = 0; i < 4000; i++) {
    if (random() < 0.1) text += `: ${randomText(random, 20)}${ending()}`;
    let event = "message";
    if (random() < 0.3) {
      event = `type-${i % 7}`;
      text += `event: ${event}${ending()}`;
    }
    const idRoll = random();
    if (idRoll < 0.5) {
      lastEventId = `${i}-${randomText(random, 6)}`;
      text += `id: ${lastEventId}${ending()}`;
    } else if (idRoll < 0.55) {
      lastEventId = "";
      text += `id${ending()}`;
    } else if (idRoll < 0.6) {
      text += `id: ignored\0${i}${ending()}`;
    }
    if (random() < 0.05) {
      retries.push(i);
      text += `retry: ${i}${ending()}`;
    }
    const lines = Math.floor(random() * 4);
    const data: string[] = [];
    for (let l = 0; l < lines; l++) {
      const value = randomText(random, 40);
      data.push(value);
      text += `data: ${value}${ending()}`;
    }
    text += blank();
    if (lines > 0) expected.push({ event, data: data.join("\n"), lastEventId });
  }
  const bytes = utf8(text);
  assert.ok(expected.length > 2000);
  for (const maxSize of [1, 7, 64, 4096, 65536]) {
    const result = await parse(randomChunks(bytes, random, maxSize));
    assert.deepStrictEqual(result, { values: expected, retries }, `chunks up to ${maxSize}`);
  }
});

Deno.test("SseParserStream drops exactly the events over maxLineBytes at random chunkings", async () => {
  const random = prng(9);
  const limit = 48;
  const expected: SseMessage[] = [];
  let dropped = 0;
  let text = "";
  for (let i = 0; i < 3000; i++) {
    const lines = 1 + Math.floor(random() * 3);
    const data = Array.from({ length: lines }, () => randomText(random, 30));
    const joined = data.join("\n");
    const tooBig = data.some((line) => utf8(`data: ${line}`).length > limit) ||
      utf8(joined).length > limit;
    // The id comes after the data, so a dropped event must still set it.
    text += data.map((line) => `data: ${line}\n`).join("") + `id: ${i}\n\n`;
    if (tooBig) dropped++;
    else expected.push(message(joined, String(i)));
  }
  assert.ok(dropped > 500 && expected.length > 500, `${dropped} dropped`);
  const bytes = utf8(text);
  for (const maxSize of [1, 7, 64, 4096]) {
    const result = await parseAll(randomChunks(bytes, random, maxSize), limit);
    assert.deepStrictEqual(result.values, expected, `chunks up to ${maxSize}`);
    assert.equal(result.invalid.length, dropped, `chunks up to ${maxSize}`);
    assert.ok(result.invalid.every((i) => i.kind === "too-large" && i.size! > limit));
  }
});

Deno.test("SseParser keeps memory within maxLineBytes plus a chunk while it discards a 100 MiB line", async () => {
  const { fed, peak, values, sizes } = await measureDiscard("sse");
  assert.ok(peak < 4 * 1024 * 1024, `the heap grew by ${peak} bytes while ${fed} were fed`);
  assert.deepStrictEqual({ values, sizes }, { values: 1, sizes: [fed + "data: ".length] });
});
