/**
 * The reference server's size limit holds for the event as it is stored
 * and streamed (with the `id`, `identity_id`, `version` and `timestamp` it
 * stamps), so whatever it accepts a client with the default `maxLineBytes`
 * can read, in NDJSON and in SSE framing; anything larger is refused with
 * 413 at publish, never accepted and then skipped by every reader.
 */
import assert from "node:assert/strict";
import { DEFAULT_MAX_LINE_BYTES } from "../src/decode/types.ts";
import { retained, startServer, type TestServer } from "./_server.ts";

const NAME = "size.stamped";
/** Given, so that every stamped record of a test has the same length but for its payload. */
const TIMESTAMP = "2026-01-02T03:04:05.678Z";

function post(server: TestServer, body: string): Promise<Response> {
  return fetch(`${server.served.url}/api/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body,
  });
}

/** A publish body whose payload string is `pad` ASCII characters. */
function bodyWith(pad: number): string {
  return JSON.stringify({ name: NAME, timestamp: TIMESTAMP, payload: "x".repeat(pad) });
}

/** The payload length that makes the stamped record exactly `bytes` long. */
async function padFor(server: TestServer, bytes: number): Promise<number> {
  const probe = await post(server, bodyWith(0));
  assert.equal(probe.status, 202, await probe.text());
  const [stored] = await retained(server, NAME);
  // The ids are fixed-width, so the probe's record is as long as any other's but for the payload.
  return bytes - new TextEncoder().encode(JSON.stringify(stored)).byteLength;
}

Deno.test("createEventsApi() refuses with 413 a body under 1 MiB whose stored record is over the line bound", async () => {
  await using server = await startServer();
  const body = bodyWith(1024 * 1024 - bodyWith(0).length - 8);
  assert.ok(
    new TextEncoder().encode(body).byteLength <= 1024 * 1024,
    "the body itself is in bounds",
  );
  const response = await post(server, body);
  assert.equal(response.status, 413);
  assert.equal(response.headers.get("content-type"), "application/json");
  const { error } = await response.json();
  assert.equal(error.type, "payload_too_large");
  assert.equal(typeof error.message, "string");
  assert.equal(server.api.stats.published, 0);
  assert.deepEqual(await retained(server, NAME), [], "nothing stored");
});

for (const accept of ["application/x-ndjson", "text/event-stream"]) {
  Deno.test(`createEventsApi() accepts the largest record a default client reads (${accept}), and no byte more`, async () => {
    await using server = await startServer();
    const pad = await padFor(server, DEFAULT_MAX_LINE_BYTES - "data: ".length);
    const largest = await post(server, bodyWith(pad));
    assert.equal(largest.status, 202, await largest.text());
    const over = await post(server, bodyWith(pad + 1));
    assert.equal(over.status, 413);
    assert.equal((await over.json()).error.type, "payload_too_large");
    // Multi-byte characters count as their UTF-8 bytes: "é" is two.
    const overUtf8 = await post(
      server,
      JSON.stringify({ name: NAME, timestamp: TIMESTAMP, payload: "x".repeat(pad - 1) + "é" }),
    );
    assert.equal(overUtf8.status, 413);

    const skipped: string[] = [];
    const client = server.newClient({ accept });
    const events = [];
    for await (
      const event of client.stream({
        name: NAME,
        replay: true,
        follow: false,
        onInvalid: (invalid) => skipped.push(invalid.kind),
      })
    ) events.push(event);
    assert.deepEqual(skipped, []);
    assert.equal(events.length, 2, "the probe and the largest");
    assert.equal((events[1]!.payload as string).length, pad);
    assert.equal(server.api.stats.published, 2);
  });
}
