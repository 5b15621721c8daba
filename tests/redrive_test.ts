/**
 * redrive() against the reference server on loopback: a dead letter goes
 * back to its original name and the fixed handler answers the original
 * `correlationId`; dry runs, filters, resuming with `after`, and records
 * that are no dead letter.
 */
import assert from "node:assert/strict";
import {
  type DeadLetterPayload,
  type EventEnvelope,
  ListenerReadiness,
  NonRetryableError,
  redrive,
  runWorker,
  WorkerStats,
} from "../mod.ts";
import { until } from "./_poll.ts";
import { retained, startServer } from "./_server.ts";

const NAME = "job.run.request";
const DEAD = `${NAME}.dead-letter`;

/** Publishes a dead letter as a worker would, for the original `envelope`. */
function deadLetterOf(envelope: EventEnvelope, code = "handler_failed"): EventEnvelope {
  const payload: DeadLetterPayload = {
    envelope,
    attempts: 1,
    reason: "test",
    error: { name: "Error", code, message: "x" },
    firstAttemptAt: "2024-01-01T00:00:00.000Z",
    lastAttemptAt: "2024-01-01T00:00:00.000Z",
  };
  return { name: DEAD, correlationId: envelope.correlationId, payload };
}

Deno.test("redrive() round-trips a dead letter and the fixed handler answers its correlationId", async () => {
  await using server = await startServer();
  let broken = true;
  const seen: EventEnvelope[] = [];
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const stats = new WorkerStats();
  const worker = runWorker({
    transport: server.client,
    names: [NAME],
    delivery: "unicast",
    group: "jobs",
    readiness,
    stats,
    signal: controller.signal,
    handler: async (event, publisher) => {
      seen.push(event);
      if (broken) throw new NonRetryableError("dependency missing", { code: "unavailable" });
      await publisher.reply({ ran: event.payload });
    },
  });
  await readiness.waitReady();
  await server.client.publish({
    name: NAME,
    correlationId: "r1",
    source: "requester-1",
    metadata: {
      tenant: "acme",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    },
    payload: { job: 1 },
    extension: { kept: true },
  });
  await until(() => stats.deadLettered === 1, 5_000, "dead-lettered");

  broken = false;
  const result = await redrive({ transport: server.client, from: DEAD });
  await until(() => stats.handled === 1, 5_000, "handled after the redrive");
  controller.abort();
  await worker;

  const [letter] = await retained(server, DEAD);
  assert.deepEqual(result, {
    read: 1,
    matched: 1,
    redriven: 1,
    filtered: 0,
    skipped: 0,
    lastEventId: letter!.id,
    deadLetters: [],
  });
  const [first, again] = seen;
  assert.equal(again!.correlationId, "r1");
  assert.deepEqual(again!.metadata, first!.metadata);
  assert.deepEqual(again!.payload, first!.payload);
  assert.equal(again!.source, "requester-1");
  assert.deepEqual(again!.extension, { kept: true }, "unknown fields go back too");
  assert.notEqual(again!.id, first!.id, "a new event, with its own id");
  const responses = await retained(server, "job.run.response");
  assert.deepEqual(responses.map((r) => [r.correlationId, r.error?.code ?? r.payload]), [
    ["r1", "unavailable"],
    ["r1", { ran: { job: 1 } }],
  ]);
});

Deno.test("redrive() in a dry run lists what it would redrive and publishes nothing", async () => {
  await using server = await startServer();
  for (const n of [1, 2]) {
    await server.client.publish(deadLetterOf({ name: NAME, correlationId: `d${n}`, payload: n }));
  }
  const before = server.api.stats;
  const published = before.published;
  const result = await redrive({ transport: server.client, from: DEAD, dryRun: true });
  assert.equal(result.read, 2);
  assert.equal(result.matched, 2);
  assert.equal(result.redriven, 0);
  assert.deepEqual(
    result.deadLetters.map((d) => d.payload.envelope.correlationId),
    ["d1", "d2"],
  );
  assert.ok(result.deadLetters.every((d) => typeof d.id === "string"));
  assert.equal(server.api.stats.published, published, "nothing was published");
  assert.equal((await retained(server, NAME)).length, 0);
});

Deno.test("redrive() redrives only what the filter keeps and resumes after lastEventId", async () => {
  await using server = await startServer();
  await server.client.publish(deadLetterOf({ name: NAME, correlationId: "f1" }, "quota"));
  await server.client.publish(deadLetterOf({ name: NAME, correlationId: "f2" }, "bug"));
  const first = await redrive({
    transport: server.client,
    from: DEAD,
    filter: ({ payload }) => payload.error.code === "quota",
  });
  assert.deepEqual([first.read, first.matched, first.redriven, first.filtered], [2, 1, 1, 1]);
  assert.deepEqual((await retained(server, NAME)).map((e) => e.correlationId), ["f1"]);

  await server.client.publish(deadLetterOf({ name: NAME, correlationId: "f3" }));
  const second = await redrive({ transport: server.client, from: DEAD, after: first.lastEventId });
  assert.deepEqual([second.read, second.redriven], [1, 1], "only the dead letter after it");
  assert.deepEqual((await retained(server, NAME)).map((e) => e.correlationId), ["f1", "f3"]);
});

Deno.test("redrive() skips and counts records that are no dead letter", async () => {
  await using server = await startServer();
  await server.client.publish({ name: DEAD, payload: "not an object" });
  await server.client.publish({ name: DEAD, payload: { envelope: { name: "Bad Name" } } });
  await server.client.publish({ name: DEAD, payload: { attempts: 2 } });
  await server.client.publish(deadLetterOf({ name: NAME, correlationId: "ok" }));
  const result = await redrive({ transport: server.client, from: DEAD });
  assert.deepEqual([result.read, result.skipped, result.redriven], [4, 3, 1]);
  assert.deepEqual((await retained(server, NAME)).map((e) => e.correlationId), ["ok"]);
});

Deno.test("redrive() refuses a bad name or filter, and stops with its signal", async () => {
  await using server = await startServer();
  await assert.rejects(redrive({ transport: server.client, from: "bad name" }), TypeError);
  await assert.rejects(
    redrive({ transport: server.client, from: DEAD, filter: "code" as never }),
    (error) => error instanceof TypeError && /filter is not a function/.test(error.message),
  );
  const controller = new AbortController();
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(
    redrive({ transport: server.client, from: DEAD, signal: controller.signal }),
    (error) => error === reason,
  );
});
