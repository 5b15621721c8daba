/**
 * runWorker() with a retry policy and dead letters: in-process retries under
 * fake time (exact waits, jitter, `retryAfter`, a stop during a wait), the
 * redelivering path on an in-memory transport that redelivers like
 * JetStream, and the whole loop against the reference server on loopback.
 */
import assert from "node:assert/strict";
import {
  type DeadLetterPayload,
  defineWorker,
  type HandlerMiddleware,
  Host,
  NonRetryableError,
  TransientError,
  type WorkerOptions,
} from "../mod.ts";
import { fakeTime } from "./_fake_time.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { startWorker as startWorkerIn } from "./_worker_run.ts";
import { until } from "./_poll.ts";
import { retained, startServer } from "./_server.ts";

const NAME = "job.run.request";
const DEAD = `${NAME}.dead-letter`;

/** Starts a unicast worker of {@linkcode NAME} on `transport` in the background. */
function startWorker(
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler">,
) {
  return startWorkerIn({
    names: [NAME],
    delivery: "unicast",
    group: "jobs",
    consumer: "jobs-1",
    ...options,
  });
}

/** A handler that fails `failures` times with what `error()` makes, then replies. */
function failingTimes(
  failures: number,
  error: (call: number) => unknown = () => new Error("flaky"),
) {
  const calls: number[] = [];
  const handler: WorkerOptions["handler"] = async (event, publisher) => {
    calls.push(Date.now());
    if (calls.length <= failures) throw error(calls.length);
    if (event.correlationId !== undefined) await publisher.reply({ done: event.payload });
  };
  return { calls, handler };
}

/** Records `context.attempt` of every run. */
function attemptsSeen(): { seen: number[]; middleware: HandlerMiddleware } {
  const seen: number[] = [];
  return { seen, middleware: (_event, context, next) => (seen.push(context.attempt), next()) };
}

const byName = (transport: MemoryTransport, name: string) =>
  transport.published.filter((event) => event.name === name);

Deno.test("runWorker() retries in process after exactly 1 s and then 2 s, and answers once", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const { calls, handler } = failingTimes(2);
  const { seen, middleware } = attemptsSeen();
  const worker = startWorker({
    transport,
    handler,
    middlewares: [middleware],
    retry: { attempts: 3, delay: 1_000 },
  });
  await worker.readiness.waitReady();
  const start = time.clock.now;
  await transport.publish({ name: NAME, correlationId: "c1", payload: 7 });
  await time.clock.tickAsync(0);
  assert.equal(calls.length, 1);
  await time.clock.tickAsync(999);
  assert.equal(calls.length, 1, "not before the first wait ran out");
  await time.clock.tickAsync(1);
  assert.equal(calls.length, 2);
  await time.clock.tickAsync(1_999);
  assert.equal(calls.length, 2, "the second wait is twice the first");
  await time.clock.tickAsync(1);
  assert.deepEqual(calls.map((at) => at - start), [0, 1_000, 3_000]);
  assert.deepEqual(seen, [1, 2, 3]);
  await worker.stop();

  const responses = byName(transport, "job.run.response");
  assert.deepEqual(responses.map((r) => [r.correlationId, r.payload, r.error]), [
    ["c1", { done: 7 }, undefined],
  ], "one answer, no error response for the failed attempts");
  assert.deepEqual(transport.settlements.map((s) => s.settlement), [{ type: "done" }]);
  assert.equal(byName(transport, DEAD).length, 0);
  const { handled, failed, retried, deadLettered } = worker.stats;
  assert.deepEqual({ handled, failed, retried, deadLettered }, {
    handled: 1,
    failed: 0,
    retried: 2,
    deadLettered: 0,
  });
});

Deno.test("runWorker() draws the retry jitter from its random option", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const { calls, handler } = failingTimes(2);
  const worker = startWorker({
    transport,
    handler,
    random: () => 0.5,
    retry: { attempts: 3, delay: 1_000, jitter: 0.5 },
  });
  await worker.readiness.waitReady();
  const start = time.clock.now;
  await transport.publish({ name: NAME });
  await time.clock.tickAsync(10_000);
  await worker.stop();
  assert.deepEqual(calls.map((at) => at - start), [0, 750, 750 + 1_500]);
});

Deno.test("runWorker() waits what a TransientError's retryAfter asks, capped by maxDelay", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const retryAfter = [5_000, 90_000];
  const { calls, handler } = failingTimes(
    2,
    (call) => new TransientError("429", { status: 429, retryAfter: retryAfter[call - 1] }),
  );
  const worker = startWorker({
    transport,
    handler,
    retry: { attempts: 3, backoff: "fixed", delay: 100, maxDelay: 20_000 },
  });
  await worker.readiness.waitReady();
  const start = time.clock.now;
  await transport.publish({ name: NAME });
  await time.clock.tickAsync(60_000);
  await worker.stop();
  assert.deepEqual(calls.map((at) => at - start), [0, 5_000, 25_000]);
});

Deno.test("runWorker() stopped during a retry wait dead-letters the event and answers at once", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const { calls, handler } = failingTimes(Infinity, () => new Error("db down"));
  const worker = startWorker({ transport, handler, retry: { attempts: 5, delay: 10_000 } });
  await worker.readiness.waitReady();
  const start = time.clock.now;
  await transport.publish({ name: NAME, correlationId: "c9", payload: 1 });
  await time.clock.tickAsync(100);
  assert.equal(calls.length, 1);
  let stopped = false;
  const stopping = worker.stop().then(() => stopped = true);
  await time.clock.tickAsync(0);
  await stopping;
  assert.equal(stopped, true);
  assert.equal(time.clock.now - start, 100, "the stop does not wait out the 10 s");
  assert.equal(calls.length, 1, "no attempt runs after the stop");

  const [settled] = transport.settlements;
  assert.equal(settled!.settlement.type, "dead");
  assert.match(
    (settled!.settlement as { reason: string }).reason,
    /^the worker stopped before attempt 2: Error: db down$/,
  );
  const [letter] = byName(transport, DEAD);
  const payload = letter!.payload as DeadLetterPayload;
  assert.equal(payload.attempts, 1);
  assert.equal(payload.reason, (settled!.settlement as { reason: string }).reason);
  const lastAttemptAt = new Date(start).toISOString();
  assert.equal(payload.lastAttemptAt, lastAttemptAt, "the give-up is no attempt of its own");
  assert.deepEqual(byName(transport, "job.run.response").map((r) => r.error), [
    { code: "handler_failed", message: "db down" },
  ]);
  const { failed, retried, deadLettered } = worker.stats;
  assert.deepEqual({ failed, retried, deadLettered }, { failed: 1, retried: 1, deadLettered: 1 });
});

Deno.test("runWorker() settles retry where the transport redelivers, and attempts follow its count", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport({ redeliver: true });
  const order: unknown[] = [];
  const { seen, middleware } = attemptsSeen();
  const worker = startWorker({
    transport,
    middlewares: [middleware],
    retry: { attempts: 3, delay: 1_000 },
    handler: (event) => {
      order.push(event.payload);
      if (event.payload === "flaky" && order.filter((p) => p === "flaky").length <= 2) {
        throw new Error("flaky");
      }
    },
  });
  await worker.readiness.waitReady();
  await transport.publish({ name: NAME, payload: "flaky" });
  await transport.publish({ name: NAME, payload: "other" });
  await time.clock.tickAsync(0);
  assert.deepEqual(order, ["flaky", "other"], "the slot is not held during the wait");
  await time.clock.tickAsync(1_000);
  assert.deepEqual(order, ["flaky", "other", "flaky"]);
  await time.clock.tickAsync(2_000);
  assert.deepEqual(order, ["flaky", "other", "flaky", "flaky"]);
  await worker.stop();
  await transport.close();
  assert.deepEqual(seen, [1, 1, 2, 3], "the transport's delivery count");
  const flaky = transport.settlements.filter((s) => s.id === "1").map((s) => s.settlement);
  assert.deepEqual(flaky, [
    { type: "retry", delay: 1_000 },
    { type: "retry", delay: 2_000 },
    { type: "done" },
  ]);
  assert.equal(worker.stats.retried, 2);
  assert.equal(worker.stats.handled, 2);
});

Deno.test("runWorker() dead-letters at the transport's last delivery, and a failed dead letter is redelivered", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport({ redeliver: true });
  const publish = transport.publish.bind(transport);
  let busDown = false;
  transport.publish = (event, options) =>
    busDown && event.name === DEAD
      ? Promise.reject(new Error("bus down"))
      : publish(event, options);
  const { calls, handler } = failingTimes(Infinity);
  const worker = startWorker({
    transport,
    handler,
    retry: { attempts: 2, backoff: "fixed", delay: 500, maxDelay: 4_000 },
  });
  await worker.readiness.waitReady();
  busDown = true;
  await transport.publish({ name: NAME, correlationId: "c3" });
  await time.clock.tickAsync(500);
  assert.equal(calls.length, 2);
  assert.deepEqual(transport.settlements.at(-1)!.settlement, { type: "retry", delay: 4_000 });
  assert.equal(byName(transport, "job.run.response").length, 0, "no answer while not final");
  busDown = false;
  await time.clock.tickAsync(4_000);
  await worker.stop();
  await transport.close();
  assert.equal(calls.length, 3);
  const [letter] = byName(transport, DEAD);
  assert.equal((letter!.payload as DeadLetterPayload).attempts, 3);
  assert.equal(transport.settlements.at(-1)!.settlement.type, "dead");
  assert.equal(byName(transport, "job.run.response").length, 1, "answered once, at the end");
  assert.equal(worker.stats.deadLetterFailed, 1);
  assert.equal(worker.stats.deadLettered, 1);
});

Deno.test("runWorker() with deadLetter: false answers a final failure and publishes no dead letter", async () => {
  const transport = new MemoryTransport();
  const worker = startWorker({
    transport,
    deadLetter: false,
    handler: () => {
      throw new NonRetryableError("no", { code: "invalid_payload" });
    },
  });
  await worker.readiness.waitReady();
  await transport.publish({ name: NAME, correlationId: "c4" });
  await until(() => transport.settlements.length === 1);
  await worker.stop();
  assert.deepEqual(transport.published.map((e) => e.name), [NAME, "job.run.response"]);
  assert.deepEqual(transport.published[1]!.error, { code: "invalid_payload", message: "no" });
});

Deno.test("Host gives registrations its retry policy unless they have their own", async () => {
  const transport = new MemoryTransport();
  const runs = new Map<string, number>();
  const failing = (name: string) =>
    defineWorker({
      name,
      names: [`${name}.run`],
      ...(name === "own" ? { retry: { attempts: 1 } } : {}),
      handler: () => {
        runs.set(name, (runs.get(name) ?? 0) + 1);
        throw new Error("always");
      },
    });
  const controller = new AbortController();
  const host = new Host({
    transport,
    registrations: [failing("inherits"), failing("own")],
    retry: { attempts: 3, delay: 0 },
    signal: controller.signal,
  });
  const running = host.run();
  await host.readiness.waitReady();
  await transport.publish({ name: "inherits.run" });
  await transport.publish({ name: "own.run" });
  await until(() => transport.settlements.length === 2);
  controller.abort();
  await running;
  assert.deepEqual(Object.fromEntries(runs), { inherits: 3, own: 1 });
  const report = host.report().registrations.map((r) => [r.name, r.retried, r.deadLettered]);
  assert.deepEqual(report, [["inherits", 2, 1], ["own", 0, 1]]);
});

// Loopback against the reference server.

Deno.test("runWorker() over HTTP answers once after a handler failed twice and then succeeded", async () => {
  await using server = await startServer();
  const { calls, handler } = failingTimes(2);
  const worker = startWorker({
    transport: server.client,
    handler,
    retry: { attempts: 3, backoff: "fixed", delay: 5 },
  });
  await worker.readiness.waitReady();
  await server.client.publish({ name: NAME, correlationId: "h1", payload: "x" });
  await until(() => worker.stats.handled === 1, 5_000, "handled");
  await worker.stop();
  assert.equal(calls.length, 3);
  const responses = await retained(server, "job.run.response");
  assert.deepEqual(responses.map((r) => [r.correlationId, r.payload, r.error]), [
    ["h1", { done: "x" }, undefined],
  ]);
  assert.equal((await retained(server, DEAD)).length, 0);
});

Deno.test("runWorker() over HTTP dead-letters a NonRetryableError after 1 attempt with every field", async () => {
  await using server = await startServer();
  const { calls, handler } = failingTimes(
    Infinity,
    () => new NonRetryableError("job 9 is unknown", { code: "not_found" }),
  );
  const worker = startWorker({
    transport: server.client,
    handler,
    retry: { attempts: 5, delay: 5 },
    deadLetter: { includeStack: true },
  });
  await worker.readiness.waitReady();
  const sentAt = Date.now();
  await server.client.publish({
    name: NAME,
    correlationId: "h2",
    metadata: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    payload: { job: 9 },
    extension: "kept",
  });
  await until(() => worker.stats.deadLettered === 1, 5_000, "dead-lettered");
  await worker.stop();
  assert.equal(calls.length, 1);

  const [request] = await retained(server, NAME);
  const letters = await retained(server, DEAD);
  assert.equal(letters.length, 1);
  const [letter] = letters;
  assert.equal(letter!.correlationId, "h2");
  assert.equal(letter!.source, "jobs-1");
  assert.equal(letter!.metadata?.traceparent, request!.metadata?.traceparent);
  const payload = letter!.payload as DeadLetterPayload;
  assert.deepEqual(payload.envelope, request, "the original as delivered, unknown fields kept");
  assert.equal(payload.envelope.extension, "kept");
  assert.equal(payload.attempts, 1);
  assert.equal(payload.reason, "not retryable: NonRetryableError: job 9 is unknown");
  assert.equal(payload.error.name, "NonRetryableError");
  assert.equal(payload.error.code, "not_found");
  assert.equal(payload.error.message, "job 9 is unknown");
  assert.match(payload.error.stack!, /NonRetryableError: job 9 is unknown\n\s+at /);
  for (const at of [payload.firstAttemptAt, payload.lastAttemptAt]) {
    assert.equal(new Date(at).toISOString(), at);
    assert.ok(Date.parse(at) >= sentAt - 1_000 && Date.parse(at) <= Date.now());
  }
  assert.deepEqual([payload.source, payload.consumer, payload.group], ["jobs-1", "jobs-1", "jobs"]);

  const responses = await retained(server, "job.run.response");
  assert.deepEqual(responses.map((r) => [r.correlationId, r.error]), [
    ["h2", { code: "not_found", message: "job 9 is unknown" }],
  ]);
});

Deno.test("runWorker() over HTTP dead-letters an event whose retries ran out, with attempts = policy", async () => {
  await using server = await startServer();
  const { calls, handler } = failingTimes(Infinity, (call) => new Error(`failure ${call}`));
  const worker = startWorker({
    transport: server.client,
    handler,
    retry: { attempts: 3, delay: 5 },
  });
  await worker.readiness.waitReady();
  await server.client.publish({ name: NAME, correlationId: "h3" });
  await until(() => worker.stats.deadLettered === 1, 5_000, "dead-lettered");
  await worker.stop();
  assert.equal(calls.length, 3);
  const [letter] = await retained(server, DEAD);
  const payload = letter!.payload as DeadLetterPayload;
  assert.equal(payload.attempts, 3);
  assert.equal(payload.reason, "attempt 3 of 3 failed: Error: failure 3");
  assert.deepEqual(payload.error, { name: "Error", code: "handler_failed", message: "failure 3" });
  assert.ok(payload.firstAttemptAt <= payload.lastAttemptAt);
  assert.ok(Date.parse(payload.lastAttemptAt) - Date.parse(payload.firstAttemptAt) >= 15 - 1);
  const responses = await retained(server, "job.run.response");
  assert.deepEqual(responses.map((r) => r.error?.message), ["failure 3"], "answered once");
  assert.deepEqual(
    [worker.stats.failed, worker.stats.retried, worker.stats.deadLettered],
    [1, 2, 1],
  );
});
