/**
 * Typed responses (`src/response_schema.ts`): `Requester.request()` and
 * `gather()` with a `schema`, against workers over the reference server on
 * loopback.
 */
import assert from "node:assert/strict";
import * as v from "valibot";
import { z } from "zod";
import {
  InvalidResponseError,
  ListenerReadiness,
  Requester,
  runWorker,
  type StandardSchema,
  type WorkerHandler,
} from "../mod.ts";
import { startServer, type TestServer } from "./_server.ts";

const Quote = z.object({ total: z.number(), at: z.iso.datetime().transform((s) => new Date(s)) });

/** Workers named by `handlers`' keys, each its own unicast group, and a requester; all stop on dispose. */
async function responders(server: TestServer, handlers: Record<string, WorkerHandler>) {
  const stop = new AbortController();
  const ready = Object.keys(handlers).map(() => new ListenerReadiness());
  const workers = Object.entries(handlers).map(([consumer, handler], i) =>
    runWorker({
      transport: server.client,
      names: ["typed.quote.request"],
      delivery: "unicast",
      group: consumer,
      consumer,
      readiness: ready[i],
      signal: stop.signal,
      handler,
    })
  );
  const requester = new Requester({
    transport: server.client,
    responseNames: ["typed.quote.response"],
    timeout: 5_000,
    reconnect: { min: 10, max: 50 },
  });
  await Promise.all([...ready, requester.readiness].map((r) => r.waitReady()));
  return {
    requester,
    async [Symbol.asyncDispose]() {
      await requester.close();
      stop.abort();
      await Promise.all(workers);
    },
  };
}

const AT = "2026-12-01T12:00:00Z";

Deno.test("Requester.request() resolves with the schema's output", async () => {
  await using server = await startServer();
  await using bus = await responders(server, {
    quotes: (event, publisher) => publisher.reply({ total: (event.payload as number) * 2, at: AT }),
  });
  const quote = await bus.requester.request("typed.quote.request", 21, { schema: Quote });
  assert.equal(quote.total, 42);
  assert.ok(quote.at instanceof Date, "the transform ran");
  assert.equal(quote.at.toISOString(), "2026-12-01T12:00:00.000Z");
  const raw = await bus.requester.request("typed.quote.request", 21);
  assert.deepEqual(raw, { total: 42, at: AT }, "without a schema: the payload as it came");
});

Deno.test("Requester.request() rejects with InvalidResponseError when the response does not match", async () => {
  await using server = await startServer();
  await using bus = await responders(server, {
    quotes: (_event, publisher) => publisher.reply({ total: "a lot", at: AT }),
  });
  const error = await bus.requester.request("typed.quote.request", 1, { schema: Quote }).then(
    () => assert.fail("resolved"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof InvalidResponseError);
  assert.equal(error.name, "InvalidResponseError");
  assert.match(error.correlationId, /^[0-9a-f-]{36}$/);
  assert.equal(error.source, undefined);
  assert.deepEqual(error.issues.map((issue) => issue.path), [["total"]]);
  assert.equal(
    error.message,
    `Cannot accept the response to ${error.correlationId}: it does not match the schema: ` +
      "payload.total: Invalid input: expected number, received string",
  );
  // It arrived: answered, not failed or timed out.
  assert.equal(bus.requester.stats.answered, 1);
  assert.equal(bus.requester.stats.pending, 0);
});

Deno.test("Requester.request() awaits an async schema, and rejects with what it throws", async () => {
  await using server = await startServer();
  await using bus = await responders(server, {
    quotes: (event, publisher) => publisher.reply(event.payload),
  });
  let calls = 0;
  const later: StandardSchema<unknown, string> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: async (value) => {
        calls++;
        await Promise.resolve();
        if (value === "boom") throw new Error("schema failed");
        return typeof value === "string"
          ? { value: value.toUpperCase() }
          : { issues: [{ message: "not a string" }] };
      },
    },
  };
  assert.equal(await bus.requester.request("typed.quote.request", "hi", { schema: later }), "HI");
  await assert.rejects(
    bus.requester.request("typed.quote.request", 7, { schema: later }),
    (error) =>
      error instanceof InvalidResponseError &&
      error.message.endsWith("it does not match the schema: payload: not a string"),
  );
  await assert.rejects(
    bus.requester.request("typed.quote.request", "boom", { schema: later }),
    { message: "schema failed" },
  );
  assert.equal(calls, 3);
});

Deno.test("Requester.request() rejects a schema that is not a Standard Schema before publishing", async () => {
  await using server = await startServer();
  const requester = new Requester({
    transport: server.client,
    responseNames: ["typed.quote.response"],
    reconnect: { min: 10, max: 50 },
  });
  try {
    for (const schema of [{}, { parse: () => 1 }, { "~standard": { version: 0, validate() {} } }]) {
      await assert.rejects(
        requester.request("typed.quote.request", 1, { schema: schema as never }),
        (error) =>
          error instanceof TypeError && error.message.startsWith("Cannot send request: schema"),
      );
      await assert.rejects(
        requester.gather("typed.quote.request", 1, { schema: schema as never }),
        TypeError,
      );
    }
    assert.equal(server.api.stats.published, 0);
    assert.equal(requester.stats.pending, 0);
  } finally {
    await requester.close();
  }
});

Deno.test("Requester.gather() checks each response and reports a mismatch per response", async () => {
  await using server = await startServer();
  await using bus = await responders(server, {
    alpha: (_event, publisher) => publisher.reply({ total: 1, at: AT }),
    beta: (_event, publisher) => publisher.reply({ sum: 2 }),
    gamma: (_event, publisher) => publisher.replyError("no_stock", "sold out"),
  });
  const { responses, invalid, missing } = await bus.requester.gather("typed.quote.request", 1, {
    expectedResponders: ["alpha", "beta", "gamma"],
    schema: Quote,
  });
  assert.deepEqual(missing, [], "beta answered, even if wrongly");
  assert.deepEqual(responses.map((response) => response.source).sort(), ["alpha", "gamma"]);
  for (const response of responses) {
    if (response.error !== undefined) {
      assert.equal(response.error.code, "no_stock");
    } else {
      assert.equal(response.payload.total, 1);
      assert.ok(response.payload.at instanceof Date);
    }
  }
  assert.equal(invalid.length, 1);
  assert.ok(invalid[0] instanceof InvalidResponseError);
  assert.equal(invalid[0].source, "beta");
  assert.deepEqual(invalid[0].issues.map((issue) => issue.path), [["total"], ["at"]]);
  assert.match(invalid[0].message, / from beta: it does not match the schema: payload\.total: /);
});

Deno.test("Requester.gather() awaits an async schema for every response", async () => {
  await using server = await startServer();
  await using bus = await responders(server, {
    alpha: (_event, publisher) => publisher.reply({ total: 1 }),
    beta: (_event, publisher) => publisher.reply({ total: 2 }),
  });
  const schema = v.pipeAsync(
    v.object({ total: v.number() }),
    v.checkAsync(async (quote) => {
      await Promise.resolve();
      return quote.total < 2;
    }, "total is 2 or more"),
  );
  const { responses, invalid } = await bus.requester.gather("typed.quote.request", 0, {
    expectedResponders: ["alpha", "beta"],
    schema,
  });
  assert.deepEqual(responses.map((response) => [response.source, response.payload]), [
    ["alpha", { total: 1 }],
  ]);
  assert.deepEqual(invalid.map((error) => [error.source, error.issues[0]!.message]), [
    ["beta", "total is 2 or more"],
  ]);
});
