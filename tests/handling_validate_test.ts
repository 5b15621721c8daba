/**
 * Schema validation in the worker pipeline (`src/handling/validate.ts`):
 * the step itself, a registration in the in-process harness, and a worker
 * with a requester over the reference server on loopback.
 */
import assert from "node:assert/strict";
import { captureLogs } from "./_log_capture.ts";
import * as v from "valibot";
import { z } from "zod";
import {
  type DeadLetterPayload,
  defineWorker,
  type EventEnvelope,
  type HandlerMiddleware,
  INVALID_PAYLOAD,
  INVALID_REPLY,
  InvalidResponseError,
  ListenerReadiness,
  Requester,
  ResponseError,
  runWorker,
  type StandardSchema,
  WorkerStats,
} from "../mod.ts";
import { testWorker } from "../testing.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { validatedHandler } from "../src/handling/validate.ts";
import type { Publisher } from "../src/publisher.ts";
import { MAX_LISTED_ISSUES } from "../src/schema.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { startServer } from "./_server.ts";
import { until } from "./_poll.ts";

const Sum = z.object({ a: z.number(), b: z.number().default(0) });
const SumReply = z.object({ sum: z.number() });

/** A Standard Schema around `inner` that counts its calls and can answer late. */
function counted(inner: StandardSchema, options: { async?: boolean } = {}) {
  const schema = {
    calls: 0,
    "~standard": {
      version: 1 as const,
      vendor: "test",
      validate: (value: unknown) => {
        schema.calls++;
        const result = inner["~standard"].validate(value);
        // Settles a few turns later: only an await sees the result.
        return options.async ? Promise.resolve().then(() => result) : result;
      },
    },
  };
  return schema;
}

/** Reads every dead letter stored under `name` in a harness. */
async function deadLetters(
  events: (name: string) => Promise<EventEnvelope[]>,
  name: string,
): Promise<DeadLetterPayload[]> {
  return (await events(`${name}.dead-letter`)).map((event) => event.payload as DeadLetterPayload);
}

Deno.test("validatedHandler() calls the handler synchronously when the schema answers synchronously", () => {
  const calls: unknown[] = [];
  const step = validatedHandler({ payload: Sum }, (event) => {
    calls.push(event.payload);
    return "handled";
  });
  const context = { publisher: {} as Publisher } as HandlerContext;
  const original = { name: "validate.sum", payload: { a: 1 } };
  // No await: a sync schema reaches the handler in the same turn.
  const returned = step(original, context);
  assert.equal(returned, "handled");
  assert.deepEqual(calls, [{ a: 1, b: 0 }]);
  assert.deepEqual(original.payload, { a: 1 }, "the envelope itself keeps the payload as it came");
});

Deno.test("validatedHandler() awaits an async schema before the handler runs", async () => {
  const calls: unknown[] = [];
  const schema = counted(Sum, { async: true });
  const step = validatedHandler({ payload: schema }, (event) => {
    calls.push(event.payload);
  });
  const context = { publisher: {} as Publisher } as HandlerContext;
  const pending = step({ name: "validate.sum", payload: { a: 2 } }, context);
  assert.ok(pending instanceof Promise);
  assert.deepEqual(calls, [], "not before the schema answered");
  await pending;
  assert.deepEqual(calls, [{ a: 2, b: 0 }]);
  await assert.rejects(
    Promise.resolve(step({ name: "validate.sum", payload: { a: "2" } }, context)),
    (error) => error instanceof Error && error.name === "NonRetryableError",
  );
  assert.equal(schema.calls, 2);
  assert.equal(calls.length, 1, "the handler never saw the invalid payload");
});

Deno.test("validatedHandler() passes the event and publisher through untouched without a schema", () => {
  const publisher = {} as Publisher;
  const event = { name: "validate.any", payload: 7 };
  let seen: [EventEnvelope, Publisher] | undefined;
  validatedHandler(undefined, (e, p) => {
    seen = [e, p];
  })(event, { publisher } as HandlerContext);
  assert.equal(seen?.[0], event);
  assert.equal(seen?.[1], publisher);
});

Deno.test("runWorker() hands a valid payload to the handler as the schema's output", async () => {
  const seen: unknown[] = [];
  await using worker = await testWorker(defineWorker({
    name: "adder",
    names: ["validate.sum.request"],
    delivery: "unicast",
    schema: { payload: Sum, reply: SumReply },
    handler: (event, publisher) => {
      seen.push(event.payload);
      return publisher.reply({ sum: event.payload.a + event.payload.b });
    },
  }));
  assert.deepEqual(await worker.request("validate.sum.request", { a: 2, b: 3 }), { sum: 5 });
  assert.deepEqual(await worker.request("validate.sum.request", { a: 4 }), { sum: 4 });
  assert.deepEqual(seen, [{ a: 2, b: 3 }, { a: 4, b: 0 }]);
  assert.equal(worker.stats.handled, 2);
});

Deno.test("runWorker() answers an invalid payload invalid_payload, never retries it, dead-letters it and skips the handler", async () => {
  let handled = 0;
  const schema = counted(Sum);
  await using worker = await testWorker(defineWorker({
    name: "adder",
    names: ["validate.sum.request"],
    delivery: "unicast",
    // Would retry any other failure twice.
    retry: { attempts: 3, delay: 0 },
    schema: { payload: schema },
    handler: (_event, publisher) => {
      handled++;
      return publisher.reply("never");
    },
  }));
  await assert.rejects(
    worker.request("validate.sum.request", { a: "one", b: null }),
    (error) =>
      error instanceof ResponseError && error.code === INVALID_PAYLOAD &&
      error.message ===
        "Cannot handle validate.sum.request: the payload does not match the schema: " +
          "payload.a: Invalid input: expected number, received string; " +
          "payload.b: Invalid input: expected number, received null",
  );
  assert.equal(handled, 0, "the handler was not called");
  assert.equal(schema.calls, 1, "one attempt: not retried");
  assert.equal(worker.stats.retried, 0);
  assert.equal(worker.stats.failed, 1);
  await until(() => worker.stats.deadLettered === 1);
  const [dead] = await deadLetters(worker.events, "validate.sum.request");
  assert.equal(dead!.attempts, 1);
  assert.equal(dead!.error.code, INVALID_PAYLOAD);
  assert.deepEqual(dead!.envelope.payload, { a: "one", b: null }, "the event as it came");
  assert.match(dead!.reason, /^not retryable: NonRetryableError: Cannot handle/);
});

Deno.test("runWorker() validates a duplicate of an invalid event again: a failure records no outcome", async () => {
  const schema = counted(Sum);
  await using worker = await testWorker(defineWorker({
    name: "adder",
    names: ["validate.sum.request"],
    delivery: "unicast",
    schema: { payload: schema },
    handler: () => {},
  }));
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      worker.request("validate.sum.request", { a: "x" }, { idempotencyKey: "order-7" }),
      (error) => error instanceof ResponseError && error.code === INVALID_PAYLOAD,
    );
  }
  assert.equal(schema.calls, 2, "each request validated");
  assert.equal(worker.stats.duplicates, 0);
  assert.equal(worker.stats.deadLettered, 2, "each request dead-lettered");
});

Deno.test("runWorker() dead-letters an invalid event without a correlationId and answers nobody", async () => {
  await using worker = await testWorker(defineWorker({
    name: "audit",
    names: ["validate.audit"],
    schema: { payload: v.object({ user: v.string() }) },
    handler: () => {
      throw new Error("never called");
    },
  }));
  await worker.publish("validate.audit", { user: 42 });
  await until(() => worker.stats.deadLettered === 1);
  assert.deepEqual(await worker.events("validate.audit.response"), []);
  const [dead] = await deadLetters(worker.events, "validate.audit");
  assert.equal(dead!.error.code, INVALID_PAYLOAD);
  assert.match(dead!.error.message, /payload\.user: Invalid type: Expected string but received 42/);
});

Deno.test("runWorker() lists at most MAX_LISTED_ISSUES issues, each cut, and counts the rest", async () => {
  const fields = Object.fromEntries(
    Array.from(
      { length: 15 },
      (_, i) => [`f${i}`, z.string().refine(() => false, "x".repeat(500))],
    ),
  );
  await using worker = await testWorker(defineWorker({
    name: "wide",
    names: ["validate.wide.request"],
    delivery: "unicast",
    schema: { payload: z.object(fields) },
    handler: () => {},
  }));
  const payload = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`f${i}`, "v"]));
  const error = await worker.request("validate.wide.request", payload).then(
    () => assert.fail("resolved"),
    (error: ResponseError) => error,
  );
  assert.equal(error.code, INVALID_PAYLOAD);
  const listed = error.message.split(": the payload does not match the schema: ")[1]!.split("; ");
  assert.equal(listed.length, MAX_LISTED_ISSUES);
  assert.equal(listed[0], `payload.f0: ${"x".repeat(199)}…`);
  assert.ok(listed.at(-1)!.endsWith("… (and 5 more issues)"), listed.at(-1));
  assert.ok(error.message.length < 3_000, `message of ${error.message.length} characters`);
});

Deno.test("runWorker() answers a reply that breaks its schema invalid_reply, publishes no success and logs the bug", async () => {
  await using records = await captureLogs("error", ["bus-integration", "worker"]);
  await using worker = await testWorker(defineWorker({
    name: "adder",
    names: ["validate.sum.request"],
    delivery: "unicast",
    retry: { attempts: 3, delay: 0 },
    schema: { payload: Sum, reply: SumReply },
    // A bug: the sum as a string. Only a cast gets it past the type check.
    handler: (event, publisher) =>
      publisher.reply({ sum: String(event.payload.a) as unknown as number }),
  }));
  await assert.rejects(
    worker.request("validate.sum.request", { a: 1 }),
    (error) =>
      error instanceof ResponseError && error.code === INVALID_REPLY &&
      error.message ===
        "Cannot reply to validate.sum.request: the reply does not match the schema: " +
          "reply.sum: Invalid input: expected number, received string",
  );
  const responses = await worker.events("validate.sum.response");
  assert.equal(responses.length, 1, "only the error response");
  assert.equal(responses[0]!.payload, undefined);
  assert.equal(worker.stats.retried, 0, "a bug is not retried");
  await until(() => worker.stats.deadLettered === 1);
  const bug = records.find((record) => String(record.message.join("")).startsWith("Bug"));
  assert.ok(bug, "logged as a bug in the worker");
  assert.equal(bug.level, "error");
  assert.equal(bug.properties.name, "validate.sum.request");
  assert.equal(typeof bug.properties.id, "string");
  assert.equal(
    bug.properties.issues,
    "reply.sum: Invalid input: expected number, received string",
  );
});

Deno.test("runWorker() publishes a matching reply as the reply schema's output", async () => {
  await using worker = await testWorker(defineWorker({
    name: "noted",
    names: ["validate.note.request"],
    delivery: "unicast",
    schema: { reply: z.object({ note: z.string().trim(), extra: z.number().default(1) }) },
    handler: (_event, publisher) => publisher.reply({ note: "  hi  " }),
  }));
  assert.deepEqual(await worker.request("validate.note.request", {}), { note: "hi", extra: 1 });
});

Deno.test("runWorker() awaits async payload and reply schemas", async () => {
  const payload = counted(Sum, { async: true });
  const reply = counted(SumReply, { async: true });
  await using worker = await testWorker(defineWorker({
    name: "adder",
    names: ["validate.sum.request"],
    delivery: "unicast",
    schema: { payload, reply },
    handler: (event, publisher) => {
      const { a, b } = event.payload as { a: number; b: number };
      return publisher.reply({ sum: a + b });
    },
  }));
  assert.deepEqual(await worker.request("validate.sum.request", { a: 1, b: 2 }), { sum: 3 });
  await assert.rejects(
    worker.request("validate.sum.request", { b: 2 }),
    (error) => error instanceof ResponseError && error.code === INVALID_PAYLOAD,
  );
  assert.equal(payload.calls, 2);
  assert.equal(reply.calls, 1);
});

Deno.test("runWorker() fails (and retries) an attempt whose schema throws, like a handler that throws", async () => {
  let calls = 0;
  const throwing: StandardSchema = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: () => {
        calls++;
        throw new Error("schema bug");
      },
    },
  };
  await using worker = await testWorker(defineWorker({
    name: "fragile",
    names: ["validate.fragile.request"],
    delivery: "unicast",
    retry: { attempts: 2, delay: 0 },
    schema: { payload: throwing },
    handler: () => {},
  }));
  await assert.rejects(
    worker.request("validate.fragile.request", {}),
    (error) => error instanceof ResponseError && error.code === "handler_failed",
  );
  assert.equal(calls, 2, "retried per the policy");
  assert.equal(worker.stats.retried, 1);
});

Deno.test("runWorker() skips and dead-letters an event whose schema returns a malformed result", async () => {
  const malformed = {
    "~standard": { version: 1, vendor: "test", validate: () => "yes" },
  } as unknown as StandardSchema;
  await using worker = await testWorker(defineWorker({
    name: "malformed",
    names: ["validate.malformed.request"],
    delivery: "unicast",
    schema: { payload: malformed },
    handler: () => {},
  }));
  await assert.rejects(
    worker.request("validate.malformed.request", {}),
    (error) =>
      error instanceof ResponseError &&
      error.message ===
        "Cannot validate: the schema's validate() returned yes, expected { value } or { issues }",
  );
  await until(() => worker.stats.deadLettered === 1);
});

Deno.test("runWorker() runs its middlewares on the envelope as it came, before the schema", async () => {
  const seen: unknown[] = [];
  const peek: HandlerMiddleware = async (event, _context, next) => {
    seen.push(["middleware", event.payload]);
    await next();
  };
  await using worker = await testWorker(defineWorker({
    name: "adder",
    names: ["validate.sum.request"],
    delivery: "unicast",
    middlewares: [peek],
    schema: { payload: Sum },
    handler: (event, publisher) => {
      seen.push(["handler", event.payload]);
      return publisher.reply(event.payload.a + event.payload.b);
    },
  }));
  assert.equal(await worker.request("validate.sum.request", { a: 5 }), 5);
  assert.deepEqual(seen, [["middleware", { a: 5 }], ["handler", { a: 5, b: 0 }]]);
});

Deno.test("runWorker() and defineWorker() refuse a schema option that is not a Standard Schema", async () => {
  const transport = new MemoryTransport();
  const bad = [
    [null, "Cannot run worker: schema is not an object such as { payload, reply }"],
    [[Sum], "Cannot run worker: schema is not an object such as { payload, reply }"],
    [
      { payload: { parse: () => 1 } },
      "Cannot run worker: schema.payload is not a Standard Schema (no ~standard.validate)",
    ],
    [
      { reply: { "~standard": { version: 2, validate: () => ({ value: 1 }) } } },
      "Cannot run worker: schema.reply implements Standard Schema version 2, expected 1",
    ],
  ] as const;
  for (const [schema, message] of bad) {
    await assert.rejects(
      runWorker({
        transport,
        names: ["validate.a"],
        schema: schema as never,
        handler: () => {},
      }),
      (error) => error instanceof TypeError && error.message.startsWith(message),
    );
    assert.throws(
      () =>
        defineWorker({ name: "bad", names: ["validate.a"], schema: schema as never, handler() {} }),
      (error) =>
        error instanceof TypeError &&
        error.message.startsWith(
          message.replace("Cannot run worker", 'Cannot use registration "bad"'),
        ),
    );
  }
  assert.throws(
    () => defineWorker({ name: "runner", schema: { payload: Sum } as never, run() {} }),
    {
      name: "TypeError",
      message: 'Cannot use registration "runner": schema needs a handler, not run',
    },
  );
});

Deno.test("runWorker() and Requester with schemas over the reference server on loopback", async () => {
  await using server = await startServer();
  const stop = new AbortController();
  const readiness = new ListenerReadiness();
  const stats = new WorkerStats();
  const worker = runWorker({
    transport: server.client,
    names: ["validate.sum.request"],
    delivery: "unicast",
    group: "adders",
    consumer: "adder-1",
    readiness,
    stats,
    signal: stop.signal,
    schema: { payload: Sum, reply: z.object({ sum: z.number() }) },
    handler: (event, publisher) => {
      const { a, b } = event.payload;
      // A deliberately loose reply for a = 13, to prove the requester's schema.
      if (a === 13) {
        return publisher.publish("validate.sum.response", { total: a + b }, {
          correlationId: event.correlationId,
        });
      }
      return publisher.reply({ sum: a + b });
    },
  });
  const requester = new Requester({
    transport: server.client,
    responseNames: ["validate.sum.response"],
    timeout: 5_000,
    reconnect: { min: 10, max: 50 },
  });
  try {
    await Promise.all([readiness.waitReady(), requester.readiness.waitReady()]);
    const { sum } = await requester.request("validate.sum.request", { a: 2, b: 5 }, {
      schema: SumReply,
    });
    assert.equal(sum, 7);
    await assert.rejects(
      requester.request("validate.sum.request", { a: [] }, { schema: SumReply }),
      (error) => error instanceof ResponseError && error.code === INVALID_PAYLOAD,
    );
    await assert.rejects(
      requester.request("validate.sum.request", { a: 13 }, { schema: SumReply }),
      (error) =>
        error instanceof InvalidResponseError &&
        error.issues.length === 1 && error.issues[0]!.path?.[0] === "sum",
    );
    await until(() => stats.handled + stats.failed === 3);
    assert.equal(stats.handled, 2);
    assert.equal(stats.failed, 1);
  } finally {
    await requester.close();
    stop.abort();
    await worker;
  }
});
