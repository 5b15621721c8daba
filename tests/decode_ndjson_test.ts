import assert from "node:assert/strict";
import { NdjsonParserStream } from "../src/decode/ndjson.ts";
import type { InvalidInput } from "../src/decode/types.ts";
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
  maxLineBytes?: number,
): Promise<void> {
  await assertEveryChunking(utf8(input), (chunks) => parse(chunks, maxLineBytes), {
    values,
    invalid,
  });
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
      kinds: result.invalid.map((i) => i.kind),
      reasons: result.invalid.every((i) => i.reason.startsWith("invalid JSON: ")),
    };
  }, {
    values: [{ a: 1 }, { a: 2 }, { a: 3 }],
    excerpts: ['{"a":', "not json"],
    kinds: ["invalid-json", "invalid-json"],
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

/** What `parse` reports for a too-large line of `size` bytes starting with `excerpt`. */
function tooLarge(size: number, limit: number, excerpt: string): InvalidInput {
  return {
    kind: "too-large",
    reason: `too large: the NDJSON line is ${size} bytes, over maxLineBytes (${limit})`,
    excerpt,
    size,
    limit,
  };
}

Deno.test("NdjsonParserStream skips a line over maxLineBytes and delivers the lines after it", async () => {
  // The oversized line is 42 bytes; it is reported whole at every chunking,
  // also when it outgrew the bound while held, before its newline arrived.
  const long = `"${"x".repeat(40)}"`;
  await assertValues(`{"a":1}\n${long}\n{"a":2}\n`, [{ a: 1 }, { a: 2 }], [
    tooLarge(42, 16, long),
  ], 16);
  await assertValues(`{"a":1}\r\n${long}\r\n{"a":2}\r\n`, [{ a: 1 }, { a: 2 }], [
    tooLarge(42, 16, long),
  ], 16);
});

Deno.test("NdjsonParserStream skips consecutive oversized lines, each reported once", async () => {
  const a = `"${"a".repeat(20)}"`;
  const b = `["${"b".repeat(30)}"]`;
  await assertValues(`${a}\n${b}\n1\n${a}`, [1], [
    tooLarge(22, 16, a),
    tooLarge(34, 16, b),
    tooLarge(22, 16, a),
  ], 16);
});

Deno.test("NdjsonParserStream discards a line that never ends and reports what arrived of it", async () => {
  const chunks = [
    utf8("1\n"),
    ...Array.from({ length: 100 }, () => utf8("9".repeat(10))),
    utf8("9\r\n2\n"),
  ];
  const result = await parse(chunks, 64);
  assert.deepStrictEqual(result.values, [1, 2]);
  assert.deepStrictEqual(result.invalid, [tooLarge(1001, 64, "9".repeat(256))]);
  assert.equal(result.error, undefined);
  // Cut off by the end of the input, it is reported with the bytes that came.
  const cut = await parse(chunks.slice(0, 51), 64);
  assert.deepStrictEqual(cut.values, [1]);
  assert.deepStrictEqual(cut.invalid, [tooLarge(500, 64, "9".repeat(256))]);
});

Deno.test("NdjsonParserStream reports an oversized line's excerpt at most 256 characters long", async () => {
  const line = `[${"7,".repeat(5000)}7]`;
  for (const size of [1, 100, 4096, line.length + 1]) {
    const bytes = utf8(`${line}\n"ok"\n`);
    const chunks = Array.from(
      { length: Math.ceil(bytes.length / size) },
      (_, i) => bytes.subarray(i * size, (i + 1) * size),
    );
    const result = await parse(chunks, 1000);
    assert.deepStrictEqual(result.values, ["ok"], `chunks of ${size}`);
    assert.deepStrictEqual(result.invalid, [tooLarge(line.length, 1000, line.slice(0, 256))]);
  }
});

Deno.test("NdjsonParserStream counts maxLineBytes in exact UTF-8 bytes", async () => {
  // '"😀€ä"' is 1 + 4 + 3 + 2 + 1 = 11 bytes.
  const line = '"😀€ä"';
  for (const end of ["\n", "\r\n", ""]) {
    const fits = await parse([utf8(line + end)], 11);
    assert.deepStrictEqual(fits.values, ["😀€ä"], JSON.stringify(end));
    assert.deepStrictEqual(fits.invalid, []);
    await assertEveryChunking(utf8(line + end), (chunks) => parse(chunks, 10), {
      values: [],
      invalid: [tooLarge(11, 10, line)],
    });
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

Deno.test("NdjsonParserStream skips exactly the lines over maxLineBytes at random chunkings", async () => {
  const random = prng(5);
  const limit = 64;
  const expected: unknown[] = [];
  const sizes: number[] = [];
  let text = "";
  for (let i = 0; i < 3000; i++) {
    const line = JSON.stringify({ i, text: randomText(random, 50) });
    const bytes = utf8(line).length;
    if (bytes > limit) sizes.push(bytes);
    else expected.push(JSON.parse(line));
    text += line + (random() < 0.3 ? "\r\n" : "\n");
  }
  assert.ok(sizes.length > 500 && expected.length > 500, `${sizes.length} oversized`);
  const bytes = utf8(text);
  for (const maxSize of [1, 7, 64, 4096]) {
    const result = await parse(randomChunks(bytes, random, maxSize), limit);
    assert.deepStrictEqual(result.values, expected, `chunks up to ${maxSize}`);
    assert.deepStrictEqual(result.invalid.map((i) => i.size), sizes, `chunks up to ${maxSize}`);
  }
});

Deno.test("NdjsonParser keeps memory within maxLineBytes plus a chunk while it discards a 100 MiB line", async () => {
  const { fed, peak, values, sizes } = await measureDiscard("ndjson");
  // 1 MiB of the line is held before it is known to be too large, then
  // nothing but the chunk being scanned; holding the line would take 100 MiB.
  assert.ok(peak < 4 * 1024 * 1024, `the heap grew by ${peak} bytes while ${fed} were fed`);
  assert.deepStrictEqual({ values, sizes }, { values: 1, sizes: [fed + 2] });
});
