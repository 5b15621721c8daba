/**
 * The attempt-end hook of the handler context: the worker runs what a
 * middleware registered once per attempt, after the pipeline settled and
 * before the event is settled with the transport; a context made by hand
 * takes none.
 */
import assert from "node:assert/strict";
import {
  type HandlerMiddleware,
  IDEMPOTENCY_KEY,
  MemoryIdempotencyStore,
  type WorkerOptions,
} from "../mod.ts";
import {
  canEndAttempt,
  endAttempt,
  type HandlerContext,
  type WorkerContext,
} from "../src/handling/context.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { startWorker as startWorkerIn } from "./_worker_run.ts";
import { until } from "./_poll.ts";

const NAME = "job.run.request";

/** What one hook call saw. */
interface HookCall {
  id: string | undefined;
  attempt: number;
  settlement: string | undefined;
  handlerRuns: number;
  settledBefore: number;
}

/** A middleware that registers a hook recording every call into `calls`. */
function recordingHook(
  transport: MemoryTransport,
  handlerRuns: () => number,
): { calls: HookCall[]; middleware: HandlerMiddleware } {
  const calls: HookCall[] = [];
  const middleware: HandlerMiddleware = (event, context, next) => {
    assert.ok(canEndAttempt(context), "a worker's context takes a hook");
    context.attemptEnd = {
      attemptEnded: (ended) =>
        void calls.push({
          id: event.id,
          attempt: ended.attempt,
          settlement: ended.settlement?.type,
          handlerRuns: handlerRuns(),
          settledBefore: transport.settlements.filter((one) => one.id === event.id).length,
        }),
    };
    return next();
  };
  return { calls, middleware };
}

/** Starts a unicast worker of {@linkcode NAME} on `transport`; resolves once it listens. */
async function startWorker(
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler">,
) {
  const worker = startWorkerIn({ names: [NAME], delivery: "unicast", group: "jobs", ...options });
  await worker.readiness.waitReady();
  return worker;
}

Deno.test("endAttempt() runs a registered hook once per attempt, after the handler and before the settlement", async () => {
  const transport = new MemoryTransport();
  const runs = new Map<string | undefined, number>();
  let handlerRuns = 0;
  const { calls, middleware } = recordingHook(transport, () => handlerRuns);
  const worker = await startWorker({
    transport,
    // No idempotency: the one hook place is left to the test's middleware.
    idempotency: false,
    retry: { attempts: 3, delay: 0 },
    middlewares: [middleware],
    handler: (event) => {
      const run = (runs.get(event.id) ?? 0) + 1;
      runs.set(event.id, run);
      handlerRuns++;
      if (event.payload === "flaky" && run < 3) throw new Error("flaky");
      if (event.payload === "broken") throw new Error("broken");
    },
  });
  const flaky = await transport.publish({ name: NAME, payload: "flaky" });
  const broken = await transport.publish({ name: NAME, payload: "broken" });
  await until(() => transport.settlements.length === 2);
  await worker.stop();

  const of = (id: string | undefined) =>
    calls.filter((call) => call.id === id).map(({ attempt, settlement, settledBefore }) => ({
      attempt,
      settlement,
      settledBefore,
    }));
  assert.deepEqual(of(flaky.id), [
    { attempt: 1, settlement: "retry", settledBefore: 0 },
    { attempt: 2, settlement: "retry", settledBefore: 0 },
    { attempt: 3, settlement: "done", settledBefore: 0 },
  ], "after two failing attempts and the succeeding one, never after the settlement");
  assert.deepEqual(of(broken.id), [
    { attempt: 1, settlement: "retry", settledBefore: 0 },
    { attempt: 2, settlement: "retry", settledBefore: 0 },
    { attempt: 3, settlement: "dead", settledBefore: 0 },
  ]);
  // One slot: the attempts run one after another, and each call follows its own handler run.
  assert.deepEqual(calls.map((call) => call.handlerRuns), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(transport.settlements.map((one) => one.settlement.type), ["done", "dead"]);
});

Deno.test("runWorker() releases an idempotency key's claim when it gives the event up before a retry", async () => {
  const transport = new MemoryTransport();
  const store = new MemoryIdempotencyStore();
  let runs = 0;
  const worker = await startWorker({
    transport,
    idempotency: { store },
    retry: { attempts: 2, delay: 3_600_000 },
    handler: () => {
      runs++;
      throw new Error("down");
    },
  });
  await transport.publish({
    name: NAME,
    correlationId: "c-1",
    metadata: { [IDEMPOTENCY_KEY]: "k" },
  });
  await until(() => runs === 1);
  const scoped = `jobs\u0000${NAME}\u0000k`;
  assert.equal((await store.claim(scoped, "another owner", 60_000)).status, "pending");
  await worker.stop();
  // Given up (dead): the key is free at once for a retry or a redrive, not
  // left in flight until its ttl, nor answered with the error response.
  assert.equal((await store.claim(scoped, "another owner", 60_000)).status, "claimed");
  assert.equal(transport.settlements[0]?.settlement.type, "dead");
});

Deno.test("canEndAttempt() is false for a context made by hand and once a hook is registered", () => {
  const byHand = { settlement: undefined, attempt: 1 } as unknown as HandlerContext;
  assert.equal(canEndAttempt(byHand), false);
  const worker = {
    settlement: undefined,
    attempt: 1,
    attemptEnd: undefined,
  } as unknown as HandlerContext;
  assert.equal(canEndAttempt(worker), true);
  let ended = 0;
  if (canEndAttempt(worker)) worker.attemptEnd = { attemptEnded: () => void ended++ };
  assert.equal(canEndAttempt(worker), false, "one hook at most");
  const registered = worker as WorkerContext;
  endAttempt(registered);
  endAttempt(registered);
  assert.equal(ended, 1, "ran once, then cleared");
  assert.equal(canEndAttempt(worker), true, "free again for the next attempt");
});
