/**
 * Keyed events on a transport that redelivers (NATS JetStream, a real
 * `nats-server -js` on 127.0.0.1): an event with an ordering key or an
 * idempotency key waits out its retries in the worker, holding its key and
 * slot, and events read but not started are kept alive with `working()`,
 * so nothing is handled twice, out of order, or stalls behind a claim.
 */
import assert from "node:assert/strict";
import { connectNats, NatsIdempotencyStore, type NatsTransport } from "../nats.ts";
import { delay, type HandlerMiddleware, type IdempotencyStore } from "../mod.ts";
import { natsTest, startNatsServer } from "./_nats_server.ts";
import { startWorker } from "./_worker_run.ts";
import { until } from "./_poll.ts";

/** Records each attempt's event id and attempt number, in the order they start. */
function recording(into: Array<{ id: string; attempt: number }>): HandlerMiddleware {
  return async (event, context, next) => {
    into.push({ id: event.id!, attempt: context.attempt });
    await next();
  };
}

natsTest(
  "runWorker() on NATS keeps a retrying event's ordering key: later same-key events wait",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ackWait: 5_000 });
    const handled: string[] = [];
    let failed = false;
    await using worker = startWorker({
      transport,
      names: ["ord.step.request"],
      delivery: "unicast",
      group: "steps",
      concurrency: 4,
      orderingKey: (event) => (event.payload as { key: string }).key,
      retry: { attempts: 3, backoff: "fixed", delay: 200 },
      handler: (event) => {
        const { key, n } = event.payload as { key: string; n: number };
        handled.push(`${key}${n}`);
        if (key === "a" && n === 1 && !failed) {
          failed = true;
          throw new Error("transient");
        }
      },
    });
    await worker.readiness.waitReady(AbortSignal.timeout(10_000));
    for (let n = 1; n <= 3; n++) {
      await transport.publish({ name: "ord.step.request", payload: { key: "a", n } });
    }
    await transport.publish({ name: "ord.step.request", payload: { key: "b", n: 1 } });
    await until(() => worker.stats.handled === 4, 10_000, "all four handled");
    await worker.stop();
    const ofA = handled.filter((step) => step.startsWith("a"));
    assert.deepEqual(ofA, ["a1", "a1", "a2", "a3"], "a's events in arrival order, a1 twice");
    assert.ok(handled.indexOf("b1") < handled.lastIndexOf("a1"), "b ran during a1's retry wait");
    assert.equal(worker.stats.retried, 1);
  },
);

/** One slot, a first attempt that fails, and a duplicate of its key arriving during the retry. */
async function retryWithDuplicate(
  store: (transport: NatsTransport) => Promise<IdempotencyStore | undefined>,
) {
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url, ackWait: 2_000 });
  const runs: Array<{ id: string; attempt: number }> = [];
  const own = await store(transport);
  const ttl = 60_000;
  await using worker = startWorker({
    transport,
    names: ["pay.charge.request"],
    delivery: "unicast",
    group: "pay",
    concurrency: 1,
    retry: { attempts: 3, backoff: "fixed", delay: 100 },
    idempotency: own === undefined ? { ttl } : { ttl, store: own },
    middlewares: [recording(runs)],
    handler: () => {
      if (runs.length === 1) throw new Error("downstream hiccup");
    },
  });
  await worker.readiness.waitReady(AbortSignal.timeout(10_000));
  const metadata = { idempotencyKey: "charge-42" };
  const first = await transport.publish({ name: "pay.charge.request", metadata });
  await until(() => runs.length === 1, 5_000, "the first attempt");
  await transport.publish({ name: "pay.charge.request", metadata });
  // Within the ttl by far: a stall would last until the claim lapsed.
  await until(() => worker.stats.handled === 2, 5_000, "both settled");
  await worker.stop();
  assert.deepEqual(runs, [{ id: first.id!, attempt: 1 }, { id: first.id!, attempt: 2 }]);
  assert.equal(worker.stats.duplicates, 1, "the duplicate got the retry's outcome");
}

natsTest(
  "runWorker() on NATS retries an idempotency-keyed event in place: a duplicate cannot stall it",
  async () => {
    await retryWithDuplicate(() => Promise.resolve(undefined));
  },
);

natsTest("runWorker() on NATS retries in place with a NatsIdempotencyStore too", async () => {
  await retryWithDuplicate((transport) =>
    NatsIdempotencyStore.open({ connection: transport.connection })
  );
});

natsTest(
  "runWorker() on NATS keeps events queued behind a busy key alive: each is handled once",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ackWait: 1_000 });
    const runs: Array<{ id: string; attempt: number }> = [];
    await using worker = startWorker({
      transport,
      names: ["job.run.request"],
      delivery: "unicast",
      group: "jobs",
      concurrency: 1,
      orderingKey: () => "same",
      middlewares: [recording(runs)],
      handler: () => delay(600), // each well within ackWait, all five well past it
    });
    await worker.readiness.waitReady(AbortSignal.timeout(10_000));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await transport.publish({ name: "job.run.request" })).id!,
      );
    }
    await until(() => worker.stats.handled === 5, 15_000, "five handled");
    // A redelivered copy would come within an ack wait of the last.
    await delay(1_500);
    await worker.stop();
    assert.deepEqual(runs.map((run) => run.id), ids, "each once, in order");
    assert.ok(runs.every((run) => run.attempt === 1), "none redelivered");
  },
);
