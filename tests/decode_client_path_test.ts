/**
 * The client's own decode path: an open stream read with `nextBatch()` and
 * each envelope settled, as the listener reads it, at every chunking of
 * fixtures that hold what its fast paths must not get wrong: CRLF and CR
 * line ends (a CRLF split between chunks too), multi-byte UTF-8 split
 * between chunks, a record of exactly `maxLineBytes` UTF-8 bytes (the
 * largest one kept) next to one a byte over it, and the records that are
 * skipped and reported.
 */
import assert from "node:assert/strict";
import { OpenEventStream } from "../src/event_stream.ts";
import type { StreamFraming } from "../src/decode/types.ts";
import { assertEveryChunking, utf8 } from "./_decode_helpers.ts";

const LIMIT = 64;
const DONE = { type: "done" } as const;

/** What reading a whole body through the client path gave. */
interface ClientRead {
  /** Each envelope's name and payload, in order. */
  envelopes: [string, unknown][];
  /** Each skipped record as `kind` (and `size` for `too-large`). */
  invalid: string[];
  /**
   * Each envelope's resume point that differs from `resumeIds`, read once
   * it is settled while the last envelope of its batch is not: then it is
   * that envelope's own, whatever the chunking.
   */
  wrongResumeIds: string[];
  /** The resume point once everything was read and settled. */
  lastEventId: string | undefined;
}

async function readThroughClient(
  framing: StreamFraming,
  chunks: Uint8Array[],
  resumeIds: string[],
): Promise<ClientRead> {
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const invalid: string[] = [];
  const stream = new OpenEventStream({
    body,
    status: 200,
    framing,
    maxLineBytes: LIMIT,
    onInvalid: (input) =>
      invalid.push(input.size === undefined ? input.kind : `${input.kind} ${input.size}`),
    controller: new AbortController(),
    initialEventId: undefined,
    onClose: () => {},
  });
  const envelopes: [string, unknown][] = [];
  const wrongResumeIds: string[] = [];
  let batch;
  while ((batch = await stream.nextBatch()) !== undefined) {
    for (const [at, envelope] of batch.entries()) {
      await stream.settle(envelope, DONE);
      const expected = resumeIds[envelopes.length];
      if (at < batch.length - 1 && stream.lastEventId !== expected) {
        wrongResumeIds.push(`${envelope.name}: ${stream.lastEventId}, not ${expected}`);
      }
      envelopes.push([envelope.name, envelope.payload]);
    }
  }
  return { envelopes, invalid, wrongResumeIds, lastEventId: stream.lastEventId };
}

/** `{"name":…,"payload":"…"}` padded with `fill` and then "x" to exactly `bytes` UTF-8 bytes. */
function recordOf(bytes: number, name: string, fill: string, id?: string): string {
  const head = id === undefined
    ? `{"name":"${name}","payload":"`
    : `{"id":"${id}","name":"${name}","payload":"`;
  const base = utf8(`${head}${fill}"}`).length;
  assert.ok(base <= bytes, "the fill fits");
  return `${head}${fill}${"x".repeat(bytes - base)}"}`;
}

// Each "€" is 3 UTF-8 bytes in one UTF-16 unit: the padded records are
// shorter in units than in bytes, so only an exact count tells them apart.
const EUROS = "€".repeat(8);
const AT_LIMIT = recordOf(LIMIT, "c", EUROS, "2");
const OVER_LIMIT = recordOf(LIMIT + 1, "x", EUROS, "9");
const WIDE = "ä€😀";

Deno.test("OpenEventStream.nextBatch() decodes NDJSON the same at every chunking", async () => {
  const input = [
    `{"id":"1","name":"a.b","payload":"${WIDE}"}\r\n`,
    `${AT_LIMIT}\r\n`,
    `${OVER_LIMIT}\n`,
    "\r\n  \n",
    "not json\n",
    "[1]\n",
    // The last line needs no newline.
    '{"name":"d"}',
  ].join("");
  await assertEveryChunking(
    utf8(input),
    (chunks) => readThroughClient("ndjson", chunks, ["1", "2", "2"]),
    {
      envelopes: [["a.b", WIDE], ["c", JSON.parse(AT_LIMIT).payload], ["d", undefined]],
      invalid: [`too-large ${LIMIT + 1}`, "invalid-json", "not-an-envelope"],
      wrongResumeIds: [],
      // "d" has no id: the resume point stays at the last one seen.
      lastEventId: "2",
    },
  );
});

Deno.test("OpenEventStream.nextBatch() decodes SSE the same at every chunking", async () => {
  // The bound is on the line, "data: " included.
  const data = recordOf(LIMIT - "data: ".length, "c", EUROS);
  const input = [
    `id: 1\r\ndata: {"name":"a.b","payload":"${WIDE}"}\r\n\r\n`,
    `id: 2\ndata: ${data}\r\n\n`,
    `id: 3\ndata: ${recordOf(LIMIT + 1 - "data: ".length, "x", EUROS)}\n\n`,
    "data: not json\n\n",
    'id: 4\rdata: {"name":"d"}\r\r',
    // Never ended by a blank line: dropped, and its id does not count.
    ': comment\nid: 5\ndata: {"name":"e"}\n',
  ].join("");
  await assertEveryChunking(
    utf8(input),
    (chunks) => readThroughClient("sse", chunks, ["1", "2", "4"]),
    {
      envelopes: [["a.b", WIDE], ["c", JSON.parse(data).payload], ["d", undefined]],
      invalid: [`too-large ${LIMIT + 1}`, "invalid-json"],
      wrongResumeIds: [],
      lastEventId: "4",
    },
  );
});
