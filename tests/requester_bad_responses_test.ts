/**
 * Responses a Requester must survive: `"error": null` (Go's encoding/json
 * for a nil error) and other non-object errors are successes; a malformed
 * error object fails only its own request, saying why; a correlation ID
 * that is no string is a stranger's; and a response that cannot be taken
 * at all fails only its request, never the response listener. Over the
 * reference server on loopback, but for the last, which needs an envelope
 * JSON cannot carry (an in-memory transport).
 */
import assert from "node:assert/strict";
import { type EventEnvelope, type EventsClient, listen, Requester, ResponseError } from "../mod.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { until } from "./_poll.ts";
import { startServer, type TestServer } from "./_server.ts";

const REQUEST = "bad.resp.request";
const RESPONSE = "bad.resp.response";

/**
 * Answers every request with `answer(payload)` merged into the response
 * envelope, published as a non-JS service would (anything JSON can carry).
 */
function responder(client: EventsClient, answer: (payload: unknown) => Record<string, unknown>) {
  const stop = new AbortController();
  const done = listen({
    transport: client,
    stream: { name: REQUEST, delivery: "unicast", group: "responder" },
    reconnect: { min: 20, max: 200 },
    signal: stop.signal,
    onEvent: async (event) => {
      await client.publish({
        name: RESPONSE,
        correlationId: event.correlationId,
        source: "go-worker",
        payload: { echoed: event.payload },
        ...answer(event.payload),
      } as EventEnvelope);
    },
  });
  return async () => {
    stop.abort();
    await done;
  };
}

async function setUp(server: TestServer, answer: (payload: unknown) => Record<string, unknown>) {
  const stopResponder = responder(server.client, answer);
  const requester = new Requester({
    transport: server.client,
    responseNames: [RESPONSE],
    timeout: 10_000,
    reconnect: { min: 20, max: 200 },
  });
  await until(() => server.api.stats.openStreams === 2, 5_000, "both streams");
  await requester.readiness.waitReady();
  return {
    requester,
    async [Symbol.asyncDispose]() {
      await requester.close();
      await stopResponder();
    },
  };
}

for (const error of [null, "oops", 42, true, ["code", "message"]]) {
  Deno.test(`Requester.request() resolves a response whose error is ${JSON.stringify(error)}`, async () => {
    await using server = await startServer({ checkFieldTypes: false });
    await using env = await setUp(server, () => ({ error }));
    assert.deepEqual(await env.requester.request(REQUEST, 1), { echoed: 1 });
    assert.deepEqual(await env.requester.request(REQUEST, 2), { echoed: 2 });
    assert.equal(env.requester.stats.answered, 2);
    assert.equal(env.requester.readiness.ready, true);
  });
}

Deno.test("Requester.gather() reads an error of null as a success: the response has no error field", async () => {
  await using server = await startServer({ checkFieldTypes: false });
  await using env = await setUp(server, () => ({ error: null }));
  const { responses, missing } = await env.requester.gather(REQUEST, 3, {
    expectedResponders: ["go-worker"],
  });
  assert.deepEqual(missing, []);
  assert.equal(responses.length, 1);
  assert.equal("error" in responses[0]!, false);
  assert.deepEqual(responses[0]!.payload, { echoed: 3 });
});

Deno.test("Requester.request() fails only the request whose error object is malformed, saying so", async () => {
  await using server = await startServer({ checkFieldTypes: false });
  await using env = await setUp(
    server,
    (payload) => payload === "bad" ? { error: { code: 5, detail: "x" } } : {},
  );
  const [bad, good] = await Promise.all([
    env.requester.request(REQUEST, "bad").catch((error) => error),
    env.requester.request(REQUEST, "good"),
  ]);
  assert.ok(bad instanceof ResponseError, String(bad));
  assert.equal(bad.code, "malformed_error");
  assert.equal(
    bad.message,
    'Cannot read error response: expected {code, message} strings, got {"code":5,"detail":"x"}',
  );
  assert.equal(bad.source, "go-worker");
  assert.deepEqual(good, { echoed: "good" });
  assert.deepEqual(await env.requester.request(REQUEST, "after"), { echoed: "after" });
  assert.equal(env.requester.stats.failed, 1);
});

Deno.test("Requester counts a response whose correlationId is no string as unknown, and goes on", async () => {
  await using server = await startServer({ checkFieldTypes: false });
  await using env = await setUp(server, () => ({}));
  for (const correlationId of [42, null, { id: 1 }, ["a"]]) {
    await server.client.publish({ name: RESPONSE, correlationId, payload: 1 } as never);
  }
  await until(() => env.requester.stats.unknown === 4, 5_000, "four unknown responses");
  assert.deepEqual(await env.requester.request(REQUEST, "still"), { echoed: "still" });
  assert.equal(env.requester.readiness.ready, true);
  assert.equal(env.requester.stats.late, 0);
});

Deno.test("Requester fails only the request whose response throws when read; the listener goes on", async () => {
  const transport = new MemoryTransport();
  const requester = new Requester({ transport, responseNames: [RESPONSE], timeout: 10_000 });
  const boom = new Error("unreadable");
  try {
    await requester.readiness.waitReady();
    const first = requester.request(REQUEST, 1).catch((error) => error);
    const second = requester.request(REQUEST, 2);
    await until(() => transport.published.length === 2, 5_000, "both requests");
    const [a, b] = transport.published.map((event) => event.correlationId);
    // Only an in-process transport can hand over such an object.
    const unreadable = Object.defineProperty({}, "code", {
      enumerable: true,
      get: () => {
        throw boom;
      },
    });
    await transport.publish({ name: RESPONSE, correlationId: a, error: unreadable } as never);
    await transport.publish({ name: RESPONSE, correlationId: b, payload: "two" });
    assert.equal(await first, boom);
    assert.equal(await second, "two");
    assert.equal(requester.readiness.ready, true);
    assert.equal(requester.stats.pending, 0);
    assert.equal(requester.stats.failed, 1);
  } finally {
    await requester.close();
  }
});
