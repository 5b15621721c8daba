/**
 * `PendingRequest` and `PendingGather` on their own, under fake time, with a
 * stand-in owner that keeps the map as a requester does. The owner touches
 * neither timers nor signals, so the tests see what the entries clear.
 */
import assert from "node:assert/strict";
import type { EventEnvelope } from "../src/envelope.ts";
import { GatherTimeoutError, RequestTimeoutError, ResponseError } from "../src/errors.ts";
import {
  type GatherResult,
  type PendingCounts,
  type PendingEntry,
  PendingGather,
  type PendingOwner,
  PendingRequest,
} from "../src/pending.ts";
import { fakeTime } from "./_fake_time.ts";

/** An owner like the requester's: one map of entries, forget removes one. */
class Owner implements PendingOwner {
  readonly counts: PendingCounts = { answered: 0, failed: 0, timedOut: 0 };
  readonly pending = new Map<string, PendingEntry>();
  forgotten = 0;

  forget(entry: PendingEntry): void {
    this.forgotten++;
    this.pending.delete(entry.correlationId);
  }

  add<T extends PendingEntry>(entry: T): T {
    this.pending.set(entry.correlationId, entry);
    entry.start();
    return entry;
  }
}

/** What a promise settled with so far, checked without awaiting it. */
interface Outcome<T> {
  value?: T;
  error?: unknown;
  settled: boolean;
}

function request(owner: Owner, timeout = 1_000, correlationId = "c-1") {
  const outcome: Outcome<unknown> = { settled: false };
  const entry = owner.add(
    new PendingRequest(correlationId, timeout, owner, (value) => {
      outcome.settled = true;
      outcome.value = value;
    }, (error) => {
      outcome.settled = true;
      outcome.error = error;
    }),
  );
  return { entry, outcome };
}

function gather(
  owner: Owner,
  { timeout = 1_000, expected = [] as string[], minResponses = 1 } = {},
) {
  const outcome: Outcome<GatherResult> = { settled: false };
  const entry = owner.add(
    new PendingGather("g-1", timeout, owner, new Set(expected), minResponses, (value) => {
      outcome.settled = true;
      outcome.value = value;
    }, (error) => {
      outcome.settled = true;
      outcome.error = error;
    }),
  );
  return { entry, outcome };
}

function response(source: string, fields: Partial<EventEnvelope> = {}): EventEnvelope {
  return { name: "demo.job.response", correlationId: "g-1", source, payload: source, ...fields };
}

Deno.test("PendingEntry.start() arms one timer for the entry's timeout", () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry } = request(owner, 750);
  assert.notEqual(entry.timer, undefined);
  assert.equal(time.clock.countTimers(), 1);
  assert.equal(entry.timeout, 750);
  assert.equal(entry.correlationId, "c-1");
});

Deno.test("PendingRequest.accept() resolves with the payload, counts answered and frees the entry", () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = request(owner);
  let unlinked = 0;
  entry.unlink = () => unlinked++;
  entry.accept({ name: "demo.job.response", correlationId: "c-1", payload: { ok: 1 } });
  assert.deepEqual(outcome, { settled: true, value: { ok: 1 } });
  assert.equal(unlinked, 1, "the caller's signal is unhooked");
  assert.deepEqual(owner.counts, { answered: 1, failed: 0, timedOut: 0 });
  assert.equal(owner.pending.size, 0);
  assert.equal(time.clock.countTimers(), 0, "the deadline is cleared");
});

Deno.test("PendingRequest.accept() rejects with ResponseError and counts failed when the response carries an error", () => {
  using _time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = request(owner);
  entry.accept({
    name: "demo.job.response",
    correlationId: "c-1",
    source: "worker-a",
    error: { code: "job_failed", message: "disk full" },
  });
  assert.equal(outcome.settled, true);
  const error = outcome.error;
  assert.ok(error instanceof ResponseError);
  assert.equal(error.code, "job_failed");
  assert.equal(error.message, "disk full");
  assert.equal(error.correlationId, "c-1");
  assert.equal(error.source, "worker-a");
  assert.deepEqual(owner.counts, { answered: 0, failed: 1, timedOut: 0 });
  assert.equal(owner.pending.size, 0);
});

Deno.test("PendingRequest.expire() rejects with RequestTimeoutError at the deadline and not before", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = request(owner, 1_000);
  await time.clock.tickAsync(999);
  assert.equal(outcome.settled, false);
  assert.equal(owner.counts.timedOut, 0);
  await time.clock.tickAsync(1);
  const error = outcome.error;
  assert.ok(error instanceof RequestTimeoutError);
  assert.equal(error.correlationId, "c-1");
  assert.equal(error.timeout, 1_000);
  assert.equal(entry.timer, undefined, "the fired timer is dropped");
  assert.deepEqual(owner.counts, { answered: 0, failed: 0, timedOut: 1 });
  assert.equal(owner.pending.size, 0);
});

Deno.test("PendingEntry.fail() rejects with the given error, clears the deadline and counts nothing", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = request(owner, 1_000);
  let unlinked = 0;
  entry.unlink = () => unlinked++;
  const reason = new Error("aborted by caller");
  entry.fail(reason);
  assert.equal(outcome.error, reason);
  assert.equal(unlinked, 1, "the caller's signal is unhooked");
  assert.equal(entry.unlink, undefined);
  assert.equal(time.clock.countTimers(), 0);
  await time.clock.tickAsync(5_000);
  assert.deepEqual(owner.counts, { answered: 0, failed: 0, timedOut: 0 });
  assert.equal(owner.forgotten, 1, "the cleared deadline never fired");
});

Deno.test("PendingGather.expire() resolves with every response at the timeout when minResponses arrived", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = gather(owner, { timeout: 500, minResponses: 2 });
  const first = response("a");
  const second = response("b", { error: { code: "E", message: "no" } });
  entry.accept(first);
  entry.accept(second);
  await time.clock.tickAsync(499);
  assert.equal(outcome.settled, false, "without expected responders it waits for the timeout");
  await time.clock.tickAsync(1);
  assert.deepEqual(outcome.value, { responses: [first, second], missing: [] });
  assert.deepEqual(owner.counts, { answered: 1, failed: 0, timedOut: 0 });
  assert.equal(owner.pending.size, 0);
});

Deno.test("PendingGather.expire() rejects with GatherTimeoutError when fewer than minResponses arrived", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = gather(owner, {
    timeout: 800,
    expected: ["a", "b", "c"],
    minResponses: 3,
  });
  entry.accept(response("b"));
  await time.clock.tickAsync(800);
  const error = outcome.error;
  assert.ok(error instanceof GatherTimeoutError);
  assert.ok(error instanceof RequestTimeoutError, "callers catching timeouts catch it too");
  assert.equal(error.name, "GatherTimeoutError");
  assert.equal(error.correlationId, "g-1");
  assert.equal(error.timeout, 800);
  assert.deepEqual(error.missing, ["a", "c"]);
  assert.equal(error.received, 1);
  assert.equal(
    error.message,
    "Cannot gather responses: 1 of at least 3 expected responders answered within 800 ms; no answer from a, c",
  );
  assert.deepEqual(owner.counts, { answered: 0, failed: 0, timedOut: 1 });
  assert.equal(owner.pending.size, 0);
});

Deno.test("PendingGather.expire() rejects with GatherTimeoutError naming no one when nothing was expected", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { outcome } = gather(owner, { timeout: 300, minResponses: 1 });
  await time.clock.tickAsync(300);
  const error = outcome.error;
  assert.ok(error instanceof GatherTimeoutError);
  assert.deepEqual(error.missing, []);
  assert.equal(error.received, 0);
  assert.equal(error.message, "Cannot gather responses: 0 of at least 1 arrived within 300 ms");
});

Deno.test("PendingGather.accept() completes early once every expected responder answered", () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = gather(owner, { timeout: 10_000, expected: ["a", "b"] });
  const stranger = response("x");
  const fromB = response("b");
  const fromA = response("a", { error: { code: "E", message: "failed" } });
  entry.accept(stranger);
  entry.accept(fromB);
  assert.equal(outcome.settled, false, "a is still missing");
  entry.accept(fromA);
  assert.deepEqual(outcome.value, { responses: [stranger, fromB, fromA], missing: [] });
  assert.equal(time.elapsed, 0);
  assert.equal(time.clock.countTimers(), 0, "the deadline is cleared");
  assert.deepEqual(owner.counts, { answered: 1, failed: 0, timedOut: 0 });
  assert.equal(owner.pending.size, 0);
});

Deno.test("PendingGather.expire() reports the silent expected responders in missing when minResponses arrived", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = gather(owner, {
    timeout: 1_000,
    expected: ["a", "b", "c"],
    minResponses: 1,
  });
  const fromC = response("c");
  entry.accept(fromC);
  await time.clock.tickAsync(1_000);
  assert.deepEqual(outcome.value, { responses: [fromC], missing: ["a", "b"] });
  assert.deepEqual(owner.counts, { answered: 1, failed: 0, timedOut: 0 });
});

Deno.test("PendingGather.accept() counts an error response as a response, not a failure", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = gather(owner, { timeout: 100, expected: ["a"] });
  const failed = response("a", { error: { code: "E", message: "no" } });
  entry.accept(failed);
  assert.deepEqual(outcome.value, { responses: [failed], missing: [] });
  assert.equal(outcome.error, undefined);
  assert.deepEqual(owner.counts, { answered: 1, failed: 0, timedOut: 0 });
  await time.clock.tickAsync(100);
  assert.equal(owner.counts.timedOut, 0);
});

Deno.test("PendingGather.fail() rejects with the given error and counts nothing", async () => {
  using time = fakeTime();
  const owner = new Owner();
  const { entry, outcome } = gather(owner, { expected: ["a"] });
  const reason = new Error("requester closed");
  entry.fail(reason);
  assert.equal(outcome.error, reason);
  await time.clock.tickAsync(5_000);
  assert.deepEqual(owner.counts, { answered: 0, failed: 0, timedOut: 0 });
  assert.equal(owner.pending.size, 0);
});
