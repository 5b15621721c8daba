/**
 * deadLetter(): what a dead letter carries, when one is published, what
 * happens when it cannot be, and how bad `deadLetter` options and bad
 * dead-letter payloads are reported.
 */
import assert from "node:assert/strict";
import { captureLogs } from "./_log_capture.ts";
import {
  deadLetterNameFor,
  type DeadLetterPayload,
  type EventEnvelope,
  NonRetryableError,
  runWorker,
  type Settlement,
  WorkerStats,
} from "../mod.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import {
  assertDeadLetterOptions,
  deadLetter,
  type DeadLetterOptions,
  deadLetterProblem,
} from "../src/handling/dead_letter.ts";
import { EventPublisher } from "../src/publisher.ts";
import { fakeTime } from "./_fake_time.ts";
import { MemoryTransport } from "./_memory_transport.ts";

const WORKER = { source: "jobs-1", consumer: "jobs-1", group: "jobs" };

const REQUEST: EventEnvelope = {
  id: "41",
  name: "job.run.request",
  correlationId: "c-1",
  source: "requester-7",
  timestamp: "2024-05-01T10:00:00.000Z",
  metadata: {
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    tracestate: "vendor=1",
    idempotencyKey: "k-1",
  },
  payload: { job: 7 },
  "identity_id": "user-1",
  futureField: { kept: true },
};

interface Setup {
  options?: DeadLetterOptions;
  redeliverAfter?: number;
}

function setup({ options = {}, redeliverAfter }: Setup = {}) {
  const transport = new MemoryTransport();
  const stats = new WorkerStats();
  const middleware = deadLetter({ options, worker: WORKER, stats, redeliverAfter });
  /** Runs one attempt at `event`; `fail` decides the handler's outcome and the settlement. */
  const attempt = async (
    event: EventEnvelope,
    attemptNumber: number,
    fail?: { error: unknown; settlement?: Settlement },
  ) => {
    const signal = new AbortController().signal;
    const context: HandlerContext = {
      publisher: new EventPublisher(transport, event, signal, WORKER.source),
      signal,
      attempt: attemptNumber,
      settlement: undefined,
    };
    const pipeline = compose([middleware], (_event, inner) => {
      if (fail === undefined) return;
      inner.settlement = fail.settlement;
      throw fail.error;
    });
    if (fail === undefined) await pipeline(event, context);
    else await assert.rejects(pipeline(event, context), (e) => e === fail.error);
    return context;
  };
  return { transport, stats, attempt };
}

Deno.test("deadLetter() publishes one dead letter with every field when a failure is final", async () => {
  using time = fakeTime();
  const { transport, stats, attempt } = setup();
  const error = new NonRetryableError("job 7 does not exist", { code: "not_found" });
  const reason = "not retryable: NonRetryableError: job 7 does not exist";
  await attempt(REQUEST, 1, { error, settlement: { type: "dead", reason } });
  assert.equal(transport.published.length, 1);
  const [letter] = transport.published;
  assert.equal(letter!.name, "job.run.request.dead-letter");
  assert.equal(letter!.correlationId, "c-1");
  assert.equal(letter!.source, "jobs-1");
  assert.deepEqual(letter!.metadata, {
    traceparent: REQUEST.metadata!.traceparent,
    tracestate: "vendor=1",
  }, "the trace context is copied, nothing else");
  const at = new Date(time.clock.now).toISOString();
  assert.deepEqual(
    letter!.payload,
    {
      envelope: REQUEST,
      attempts: 1,
      reason,
      error: { name: "NonRetryableError", code: "not_found", message: "job 7 does not exist" },
      firstAttemptAt: at,
      lastAttemptAt: at,
      ...WORKER,
    } satisfies DeadLetterPayload,
  );
  assert.equal((letter!.payload as DeadLetterPayload).envelope, REQUEST, "the original, whole");
  assert.equal(stats.deadLettered, 1);
});

Deno.test("deadLetter() records the first and the last attempt's start across in-process attempts", async () => {
  using time = fakeTime();
  const { transport, attempt } = setup();
  const first = new Date(time.clock.now).toISOString();
  const error = new Error("flaky");
  await attempt(REQUEST, 1, { error, settlement: { type: "retry", delay: 5_000 } });
  assert.equal(transport.published.length, 0, "a non-final attempt passes through");
  time.clock.tick(5_000);
  await attempt(REQUEST, 2, { error, settlement: { type: "retry", delay: 10_000 } });
  time.clock.tick(10_000);
  const last = new Date(time.clock.now).toISOString();
  await attempt(REQUEST, 3, { error, settlement: { type: "dead", reason: "attempt 3 of 3" } });
  const payload = transport.published[0]!.payload as DeadLetterPayload;
  assert.equal(payload.attempts, 3);
  assert.equal(payload.firstAttemptAt, first);
  assert.equal(payload.lastAttemptAt, last);
  assert.deepEqual(payload.error, { name: "Error", code: "handler_failed", message: "flaky" });
  assert.equal(payload.error.stack, undefined, "no stack unless asked");
});

Deno.test("deadLetter() forgets a retried event's times once it succeeds", async () => {
  using time = fakeTime();
  const { transport, attempt } = setup();
  const error = new Error("flaky");
  await attempt(REQUEST, 1, { error, settlement: { type: "retry", delay: 5_000 } });
  time.clock.tick(5_000);
  await attempt(REQUEST, 2);
  time.clock.tick(60_000);
  // The same envelope object again: nothing of its earlier attempts is left.
  const again = new Date(time.clock.now).toISOString();
  await attempt(REQUEST, 1, { error, settlement: { type: "dead", reason: "for good" } });
  const payload = transport.published[0]!.payload as DeadLetterPayload;
  assert.equal(payload.firstAttemptAt, again);
  assert.equal(payload.lastAttemptAt, again);
});

Deno.test("deadLetter() carries the stack with includeStack and uses the name it is given", async () => {
  const { transport, attempt } = setup({
    options: { name: "jobs.dead-letters", includeStack: true },
  });
  const error = new RangeError("bad");
  await attempt({ name: "job.run.request" }, 1, { error });
  const [letter] = transport.published;
  assert.equal(letter!.name, "jobs.dead-letters");
  const payload = letter!.payload as DeadLetterPayload;
  assert.equal(payload.error.stack, error.stack);
  assert.equal(payload.reason, "RangeError: bad", "without a settlement, the error describes it");
  assert.equal(letter!.metadata, undefined, "no trace context to copy");
});

Deno.test("deadLetter() publishes nothing on success, and records a thrown non-Error", async () => {
  const { transport, attempt } = setup();
  await attempt(REQUEST, 1);
  assert.equal(transport.published.length, 0);
  await attempt({ name: "job.tick" }, 1, { error: "plain text" });
  assert.deepEqual((transport.published[0]!.payload as DeadLetterPayload).error, {
    name: "string",
    code: "handler_failed",
    message: "plain text",
  });
});

Deno.test("deadLetter() settles retry after redeliverAfter when the dead letter cannot be published", async () => {
  const { transport, stats, attempt } = setup({ redeliverAfter: 30_000 });
  transport.publish = () => Promise.reject(new Error("bus down"));
  const context = await attempt(REQUEST, 3, {
    error: new Error("x"),
    settlement: { type: "dead", reason: "attempt 3 of 3" },
  });
  assert.deepEqual(context.settlement, { type: "retry", delay: 30_000 });
  assert.equal(stats.deadLetterFailed, 1);
  assert.equal(stats.deadLettered, 0);
});

Deno.test("deadLetter() logs an event it cannot dead-letter as lost where nothing redelivers", async () => {
  await using records = await captureLogs("error");
  const { transport, stats, attempt } = setup();
  transport.publish = () => Promise.reject(new Error("bus down"));
  const dead: Settlement = { type: "dead", reason: "attempt 1 of 1" };
  const context = await attempt(REQUEST, 1, { error: new Error("x"), settlement: dead });
  assert.equal(context.settlement, dead);
  assert.equal(stats.deadLetterFailed, 1);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.level, "error");
  assert.match(String(records[0]!.message.join("")), /the event is lost/);
  assert.equal(records[0]!.properties.id, "41", "the record names the event to find it by");
});

Deno.test("assertDeadLetterOptions() throws a TypeError naming the bad field", () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      true,
      /^Cannot run worker: deadLetter is true, expected false or \{ name\?, includeStack\? \}$/,
    ],
    [null, /deadLetter is null/],
    [{ name: "Bad.Name" }, /deadLetter\.name is "Bad\.Name": use dot-separated lowercase/],
    [{ name: "a.*" }, /deadLetter\.name is "a\.\*": wildcards are not allowed/],
    [{ includeStack: "yes" }, /deadLetter\.includeStack is "yes", expected true or false/],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => assertDeadLetterOptions(value, "Cannot run worker"),
      (error: Error) => error instanceof TypeError && message.test(error.message),
      JSON.stringify(value),
    );
  }
  assertDeadLetterOptions(undefined);
  assertDeadLetterOptions(false);
  assertDeadLetterOptions({ name: "ok.name", includeStack: true });
});

Deno.test("runWorker() rejects a bad deadLetter option before it opens a stream", async () => {
  const transport = new MemoryTransport();
  await assert.rejects(
    runWorker({
      transport,
      names: ["a.b"],
      deadLetter: { name: "NOPE" },
      handler: () => {},
    }),
    (error) =>
      error instanceof TypeError && /Cannot run worker: deadLetter\.name/.test(error.message),
  );
  assert.equal(transport.opens.length, 0);
});

Deno.test("deadLetterNameFor() appends .dead-letter unless a name is given", () => {
  assert.equal(deadLetterNameFor({ name: "a.b.request" }), "a.b.request.dead-letter");
  assert.equal(deadLetterNameFor({ name: "a.b" }, { name: "all.dead" }), "all.dead");
});

Deno.test("deadLetterProblem() tells what keeps a payload from being redriven", () => {
  assert.equal(deadLetterProblem({ envelope: { name: "a.b" } }), undefined);
  assert.equal(deadLetterProblem("text"), "the payload is not an object");
  assert.equal(deadLetterProblem([1]), "the payload is not an object");
  assert.equal(deadLetterProblem({ attempts: 1 }), "the payload has no envelope object");
  assert.equal(deadLetterProblem({ envelope: [] }), "the payload has no envelope object");
  assert.match(
    deadLetterProblem({ envelope: { name: 7 } })!,
    /not an event name: it is not a string/,
  );
  assert.match(deadLetterProblem({ envelope: { name: "x.*" } })!, /wildcards/);
});
