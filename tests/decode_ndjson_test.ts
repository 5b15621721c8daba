import assert from "node:assert/strict";
import { StreamProtocolError } from "../src/errors.ts";
import { NdjsonParserStream } from "../src/decode/ndjson.ts";
import type { InvalidInput } from "../src/decode/types.ts";
import {
  assertEveryChunking,
  collect,
  type Collected,
  randomChunks,
  randomText,
  utf8,
} from "./_decode_helpers.ts";
import { prng } from "../src/testing/prng.ts";

type Invalid = { invalid: InvalidInput[] };

async function parse(
  chunks: Uint8Array[],
  maxLineBytes?: number,
): Promise<Collected<unknown> & Invalid> {
  const invalid: InvalidInput[] = [];
  const stream = new NdjsonParserStream({
    onInvalid: (input) => invalid.push(input),
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
  });
  return { ...(await collect(stream, chunks)), invalid };
}

/** Parses `input` at every chunking; each must give exactly these values. */
async function assertValues(
  input: string,
  values: unknown[],
  invalid: InvalidInput[] = [],
): Promise<void> {
  await assertEveryChunking(utf8(input), (chunks) => parse(chunks), { values, invalid });
}

Deno.test("NdjsonParserStream parses one value per LF-terminated line", async () => {
  await assertValues('{"a":1}\n[1,2]\n"s"\n3\nnull\ntrue\n', [
    { a: 1 },
    [1, 2],
    "s",
    3,
    null,
    true,
  ]);
});

Deno.test("NdjsonParserStream strips the CR of CRLF line ends", async () => {
  await assertValues('{"a":1}\r\n{"a":2}\r\n', [{ a: 1 }, { a: 2 }]);
});

Deno.test("NdjsonParserStream skips blank and whitespace-only lines", async () => {
  await assertValues('\n{"a":1}\n\n \t\n\r\n  \r\n{"a":2}\n\n', [{ a: 1 }, { a: 2 }]);
});

Deno.test("NdjsonParserStream parses a last line without newline", async () => {
  await assertValues('{"a":1}\n{"a":2}', [{ a: 1 }, { a: 2 }]);
  await assertValues('{"a":1}\n{"a":2}\r', [{ a: 1 }, { a: 2 }]);
});

Deno.test("NdjsonParserStream strips one leading BOM", async () => {
  await assertValues('\uFEFF{"a":1}\n', [{ a: 1 }]);
});

Deno.test("NdjsonParserStream reports a BOM after the start as invalid", async () => {
  const result = await parse([utf8('{"a":1}\n'), utf8('\uFEFF{"a":2}\n{"a":3}\n')]);
  assert.deepStrictEqual(result.values, [{ a: 1 }, { a: 3 }]);
  assert.equal(result.invalid.length, 1);
});

Deno.test("NdjsonParserStream decodes UTF-8 split across chunks", async () => {
  await assertValues('{"t":"ä€😀"}\n', [{ t: "ä€😀" }]);
});

Deno.test("NdjsonParserStream decodes invalid UTF-8 like a streaming TextDecoder", async () => {
  const quote = utf8('"');
  const bytes = new Uint8Array([
    ...utf8('"a'),
    ...[0xe2, 0x82], // truncated 3-byte sequence
    ...utf8("b"),
    ...[0xf0, 0x80, 0x80, 0x80], // overlong 4-byte form
    ...[0xc3], // lead byte without continuation
    ...quote,
    ...utf8("\n"),
    ...quote,
    ...[0xe0, 0x80], // invalid second byte
    ...utf8("ä"),
    ...[0xf0, 0x9f, 0x98], // truncated emoji, right before the closing quote
    ...quote,
  ]);
  const expected = new TextDecoder().decode(bytes).split("\n").map((line) => JSON.parse(line));
  assert.ok(expected.every((value) => value.includes("\uFFFD")));
  await assertEveryChunking(bytes, (chunks) => parse(chunks), { values: expected, invalid: [] });
});

Deno.test("NdjsonParserStream reports malformed JSON and delivers the next lines", async () => {
  const bytes = utf8('{"a":1}\n{"a":\n{"a":2}\nnot json\n{"a":3}\n');
  await assertEveryChunking(bytes, async (chunks) => {
    const result = await parse(chunks);
    return {
      values: result.values,
      excerpts: result.invalid.map((i) => i.excerpt),
      reasons: result.invalid.every((i) => i.reason.startsWith("invalid JSON: ")),
    };
  }, {
    values: [{ a: 1 }, { a: 2 }, { a: 3 }],
    excerpts: ['{"a":', "not json"],
    reasons: true,
  });
});

Deno.test("NdjsonParserStream bounds the excerpt of a malformed line to 256 characters", async () => {
  const result = await parse([utf8(`x${"y".repeat(1000)}\n`)]);
  assert.equal(result.invalid.length, 1);
  assert.equal(result.invalid[0]?.excerpt, `x${"y".repeat(255)}`);
});

Deno.test("NdjsonParserStream keeps going when onInvalid throws", async () => {
  let calls = 0;
  const stream = new NdjsonParserStream({
    onInvalid: () => {
      calls++;
      throw new Error("handler failed");
    },
  });
  const result = await collect(stream, [utf8('bad\n{"a":1}\nbad\n{"a":2}\n')]);
  assert.deepStrictEqual(result, { values: [{ a: 1 }, { a: 2 }] });
  assert.equal(calls, 2);
});

Deno.test("NdjsonParserStream errors on a line over maxLineBytes after delivering earlier lines", async () => {
  const bytes = utf8(`{"a":1}\n"${"x".repeat(40)}"\n{"a":2}\n`);
  await assertEveryChunking(bytes, async (chunks) => {
    const result = await parse(chunks, 16);
    assert.ok(result.error instanceof StreamProtocolError);
    assert.equal(
      result.error.message,
      "Cannot read stream: an NDJSON line exceeds maxLineBytes (16)",
    );
    return result.values;
  }, [{ a: 1 }]);
});

Deno.test("NdjsonParserStream delivers every value before an oversized line in the same chunk", async () => {
  const result = await parse([utf8(`1\n2\n3\n"${"x".repeat(40)}`), utf8('"\n')], 16);
  assert.deepStrictEqual(result.values, [1, 2, 3]);
  assert.ok(result.error instanceof StreamProtocolError);
});

Deno.test("NdjsonParserStream errors on a line that never ends", async () => {
  const chunks = [utf8("1\n"), ...Array.from({ length: 100 }, () => utf8("9".repeat(10)))];
  const result = await parse(chunks, 64);
  assert.deepStrictEqual(result.values, [1]);
  assert.ok(result.error instanceof StreamProtocolError);
});

Deno.test("NdjsonParserStream counts maxLineBytes in exact UTF-8 bytes", async () => {
  // '"😀€ä"' is 1 + 4 + 3 + 2 + 1 = 11 bytes.
  const line = '"😀€ä"';
  for (const end of ["\n", "\r\n", ""]) {
    const fits = await parse([utf8(line + end)], 11);
    assert.deepStrictEqual(fits.values, ["😀€ä"], JSON.stringify(end));
    assert.equal(fits.error, undefined);
    const over = await parse([utf8(line + end)], 10);
    assert.ok(over.error instanceof StreamProtocolError, JSON.stringify(end));
  }
  // Held across chunks, the CR of a CRLF does not count against the line.
  await assertEveryChunking(utf8(`${line}\r\n`), (chunks) => parse(chunks, 11), {
    values: ["😀€ä"],
    invalid: [],
  });
});

Deno.test("NdjsonParserStream rejects a maxLineBytes that is not a positive integer", () => {
  for (const maxLineBytes of [0, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => new NdjsonParserStream({ maxLineBytes }), RangeError);
  }
});

Deno.test("NdjsonParserStream decodes thousands of random lines at random chunkings", async () => {
  const random = prng(11);
  const expected: unknown[] = [];
  let text = "";
  let invalid = 0;
  for (let i = 0; i < 5000; i++) {
    const roll = random();
    if (roll < 0.05) {
      text += random() < 0.5 ? "\n" : " \t\r\n";
    } else if (roll < 0.08) {
      text += `{"broken":${i}\n`;
      invalid++;
    } else {
      const value = { i, text: randomText(random, 60), list: [i, randomText(random, 5)] };
      expected.push(value);
      text += JSON.stringify(value) + (random() < 0.3 ? "\r\n" : "\n");
    }
  }
  const bytes = utf8(text);
  for (const maxSize of [1, 7, 64, 4096, 65536]) {
    const result = await parse(randomChunks(bytes, random, maxSize));
    assert.deepStrictEqual(result.values, expected, `chunks up to ${maxSize}`);
    assert.equal(result.invalid.length, invalid);
    assert.equal(result.error, undefined);
  }
});

Deno.test("NdjsonParserStream errors with the framing, limit and size read of an oversized line", async () => {
  // The line is 42 bytes; held before its newline arrives, less of it is read.
  const bytes = utf8(`{"a":1}\n"${"x".repeat(40)}"\n{"a":2}\n`);
  await assertEveryChunking(bytes, async (chunks) => {
    const { error } = await parse(chunks, 16);
    assert.ok(error instanceof StreamProtocolError);
    assert.ok(error.size !== undefined && error.size > 16 && error.size <= 42, `${error.size}`);
    return { framing: error.framing, oversized: error.oversized, limit: error.limit };
  }, { framing: "ndjson", oversized: "line", limit: 16 });
  const { error } = await parse([bytes], 16);
  assert.ok(error instanceof StreamProtocolError);
  assert.equal(error.size, 42);
  // Multi-byte characters count in UTF-8 bytes: '"😀€ä"' is 11.
  const multiByte = await parse([utf8('"😀€ä"\n')], 10);
  assert.ok(multiByte.error instanceof StreamProtocolError);
  assert.equal(multiByte.error.size, 11);
});
