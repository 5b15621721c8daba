/**
 * The reference server checks the types of the envelope fields the
 * contract's table gives (EVENTS_API.md): a publish whose `version`,
 * `correlationId`, `source`, `timestamp`, `metadata` or `error` has another
 * type is refused with `400 bad_request` naming the field, and nothing is
 * stored. What the contract allows passes: `null` for an absent field (Go's
 * `encoding/json`), any RFC 3339 date-time, unknown fields of any type, and
 * every envelope the library itself publishes.
 */
import assert from "node:assert/strict";
import { EventPublisher } from "../src/publisher.ts";
import { retained, startServer, type TestServer } from "./_server.ts";

const NAME = "types.check";

async function post(server: TestServer, fields: Record<string, unknown>): Promise<Response> {
  return await fetch(`${server.served.url}/api/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: NAME, ...fields }),
  });
}

const refused: Record<string, [Record<string, unknown>, RegExp]> = {
  "version is a number": [{ version: 5 }, /version must be a string, not a number/],
  "correlationId is an object": [{ correlationId: { a: 1 } }, /correlationId must be a string/],
  "source is an array": [{ source: ["w"] }, /source must be a string, not an array/],
  "timestamp is a number": [{ timestamp: 1700000000 }, /timestamp must be an RFC 3339 string/],
  "timestamp is not RFC 3339": [{ timestamp: "yesterday" }, /timestamp "yesterday" is not/],
  "timestamp has no offset": [{ timestamp: "2026-01-02T03:04:05" }, /not an RFC 3339/],
  "timestamp is a date only": [{ timestamp: "2026-01-02" }, /not an RFC 3339/],
  "timestamp has no such day": [{ timestamp: "2026-02-29T00:00:00Z" }, /not an RFC 3339/],
  "timestamp hour 24": [{ timestamp: "2026-01-02T24:00:00Z" }, /not an RFC 3339/],
  "metadata values are numbers": [{ metadata: { k: 1 } }, /metadata\["k"\] must be a string/],
  "metadata is an array": [{ metadata: ["a"] }, /metadata must be an object of strings/],
  "metadata is a string": [{ metadata: "k=v" }, /metadata must be an object of strings/],
  "error is a string": [{ error: "x" }, /error must be an object \{code, message\}/],
  "error has a numeric code": [
    { error: { code: 5, message: "m" } },
    /error\.code must be a string/,
  ],
  "error has no message": [
    { error: { code: "c" } },
    /error\.message must be a string, not missing/,
  ],
};

Deno.test("createEventsApi() refuses known envelope fields of the wrong type with 400, naming the field", async () => {
  await using server = await startServer();
  for (const [label, [fields, message]] of Object.entries(refused)) {
    const response = await post(server, fields);
    assert.equal(response.status, 400, label);
    const { error } = await response.json();
    assert.equal(error.type, "bad_request", label);
    assert.match(error.message, message, label);
  }
  assert.equal(server.api.stats.published, 0);
  assert.deepEqual(await retained(server, NAME), []);
});

Deno.test("createEventsApi() accepts what the contract allows: null fields, RFC 3339 forms, unknown fields", async () => {
  await using server = await startServer();
  const accepted: Record<string, unknown>[] = [
    {
      version: null,
      correlationId: null,
      source: null,
      timestamp: null,
      metadata: null,
      error: null,
    },
    { timestamp: "2026-01-02T03:04:05Z" },
    { timestamp: "2026-01-02T03:04:05.123456789Z" },
    { timestamp: "2024-02-29t23:59:60z" },
    { timestamp: "2026-01-02T05:04:05+02:00" },
    { timestamp: "2026-01-02T03:04:05-00:30" },
    { metadata: {} },
    { metadata: { "idempotency-key": "k", traceparent: "00-abc-def-01", "": "" } },
    { error: { code: "c", message: "m", details: { retry: false } } },
    { payload: [1, { a: null }], unknown: 5, nested: { metadata: 1 } },
  ];
  for (const fields of accepted) {
    const response = await post(server, fields);
    assert.equal(response.status, 202, `${JSON.stringify(fields)}: ${await response.text()}`);
  }
  const stored = await retained(server, NAME);
  assert.equal(stored.length, accepted.length);
  assert.equal(stored[0]!.version, "v1", "a null version is defaulted");
  assert.equal(stored[4]!.timestamp, "2026-01-02T05:04:05+02:00", "kept as it came");
  assert.equal(stored[9]!.unknown, 5);
});

Deno.test("createEventsApi() accepts every envelope the library publishes: client, reply, error reply", async () => {
  await using server = await startServer();
  await server.client.publish({
    name: NAME,
    correlationId: "c-1",
    source: "me",
    metadata: { tenant: "acme" },
    payload: { n: 1 },
  });
  const request = {
    name: "types.check.request",
    id: "0000000000000001",
    correlationId: "c-2",
    metadata: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
  };
  const publisher = new EventPublisher(
    server.client,
    request,
    new AbortController().signal,
    "worker",
  );
  await publisher.reply({ ok: true }, { metadata: { shard: "1" } });
  await publisher.replyError("bad_input", "no");
  const responses = await retained(server, "types.check.response");
  assert.deepEqual(responses.map((r) => r.error), [undefined, {
    code: "bad_input",
    message: "no",
  }]);
  assert.equal(server.api.stats.published, 3);
});

Deno.test("createEventsApi({ checkFieldTypes: false }) stores mistyped fields as they came", async () => {
  await using server = await startServer({ checkFieldTypes: false });
  const response = await post(server, { version: 5, error: "x", metadata: [1] });
  assert.equal(response.status, 202);
  const [stored] = await retained(server, NAME);
  assert.equal(stored!.version, 5);
  assert.equal(stored!.error, "x");
});
