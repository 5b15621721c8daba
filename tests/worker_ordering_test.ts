/**
 * runWorker()'s `orderingKey`: one event per key at a time in arrival
 * order, keys in parallel under `concurrency`, bounded waiting. The big
 * case runs over loopback against the reference server; the rest on the
 * in-memory transport, where the unread stream can be seen.
 */
import assert from "node:assert/strict";
import {
  defineWorker,
  type EventEnvelope,
  ORDERING_BACKLOG_PER_SLOT,
  runWorker,
  type WorkerOptions,
} from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { prng } from "../src/testing/prng.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { until } from "./_poll.ts";
import { publishAll } from "./_server.ts";
import { gate, startWorker } from "./_worker_run.ts";

type Job = { key: string };
const keyOf = (event: EventEnvelope) => (event.payload as Job).key;

/** Starts a worker on `order.job` unless the test names others. */
function start(options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler">) {
  return startWorker({ names: ["order.job"], ...options });
}

Deno.test("runWorker() keeps arrival order within each of 1,000 keys and runs 16 keys at once", async () => {
  const KEYS = 1_000;
  const PER_KEY = 20;
  const total = KEYS * PER_KEY;
  const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: total });
  const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const { EventsClient } = await import("../mod.ts");
  const client = new EventsClient({ baseUrl: served.url });
  try {
    const events = Array.from({ length: total }, (_, i) => ({ key: `k${i % KEYS}` }));
    const random = prng(12);
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    await publishAll(client, events.map((payload) => ({ name: "order.job", payload })));
    // The server's ids grow in arrival order: the order each key must be handled in.
    const seen = new Map<string, string[]>();
    const active = new Set<string>();
    let running = 0;
    let peak = 0;
    let overlaps = 0;
    const worker = start({
      transport: client,
      replay: true,
      concurrency: 16,
      orderingKey: keyOf,
      handler: async (event) => {
        const key = keyOf(event);
        if (active.has(key)) overlaps++;
        active.add(key);
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 0));
        seen.set(key, [...seen.get(key) ?? [], event.id!]);
        running--;
        active.delete(key);
      },
    });
    await until(() => worker.stats.handled === total, 30_000, "every event handled");
    await worker.stop();
    assert.equal(overlaps, 0, "never two events of one key at once");
    assert.equal(peak, 16);
    assert.equal(seen.size, KEYS);
    for (const [key, ids] of seen) {
      assert.equal(ids.length, PER_KEY, key);
      assert.deepEqual(ids, [...ids].sort(), `${key} in arrival order`);
    }
    assert.ok(worker.stats.maxQueued <= 16 * ORDERING_BACKLOG_PER_SLOT + 1);
  } finally {
    await api.close();
  }
});

Deno.test("runWorker() handles other keys while one key's handler is stuck", async () => {
  const transport = new MemoryTransport();
  const stuck = gate();
  const handled: string[] = [];
  const worker = start({
    transport,
    concurrency: 2,
    orderingKey: keyOf,
    handler: async (event) => {
      const { key } = event.payload as Job;
      if (key === "slow") await stuck.opened;
      handled.push(`${key}:${event.id}`);
    },
  });
  await until(() => transport.openCount === 1);
  for (let i = 0; i < 10; i++) {
    await transport.publish({ name: "order.job", payload: { key: "slow" } });
  }
  for (let i = 0; i < 100; i++) {
    await transport.publish({ name: "order.job", payload: { key: `k${i % 7}` } });
  }
  await until(() => handled.length === 100, 5_000, "the other keys handled");
  assert.equal(worker.stats.queued, 9, "the slow key's others wait without a slot");
  stuck.open();
  await until(() => handled.length === 110);
  await worker.stop();
  const slow = handled.filter((entry) => entry.startsWith("slow:")).map((e) => Number(e.slice(5)));
  assert.deepEqual(slow, Array.from({ length: 10 }, (_, i) => i + 1));
});

Deno.test("runWorker() stops reading once the events behind a busy key reach the bound", async () => {
  const transport = new MemoryTransport();
  const stuck = gate();
  const worker = start({
    transport,
    concurrency: 1,
    orderingKey: keyOf,
    handler: () => stuck.opened,
  });
  await until(() => transport.openCount === 1);
  const total = ORDERING_BACKLOG_PER_SLOT + 50;
  for (let i = 0; i < total; i++) {
    await transport.publish({ name: "order.job", payload: { key: "hot" } });
  }
  await until(() => worker.stats.queued === ORDERING_BACKLOG_PER_SLOT);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(worker.stats.maxQueued, ORDERING_BACKLOG_PER_SLOT, "never more held");
  assert.equal(worker.stats.inFlight, 1);
  assert.equal(transport.settlements.length, 0);
  stuck.open();
  await until(() => worker.stats.handled === total);
  await worker.stop();
  assert.equal(transport.settlements.length, total);
});

Deno.test("runWorker() runs events whose orderingKey is undefined without ordering them", async () => {
  const transport = new MemoryTransport();
  const stuck = gate();
  let running = 0;
  let peak = 0;
  const worker = start({
    transport,
    concurrency: 4,
    orderingKey: () => undefined,
    handler: async () => {
      peak = Math.max(peak, ++running);
      await stuck.opened;
      running--;
    },
  });
  await until(() => transport.openCount === 1);
  for (let i = 0; i < 4; i++) {
    await transport.publish({ name: "order.job", payload: { key: "same" } });
  }
  await until(() => peak === 4, 5_000, "four at once");
  stuck.open();
  await until(() => worker.stats.handled === 4);
  await worker.stop();
});

Deno.test("runWorker() skips an event whose orderingKey throws or is not a string, and goes on", async () => {
  const transport = new MemoryTransport();
  const handled: unknown[] = [];
  const worker = start({
    transport,
    orderingKey: (event) => {
      const { key } = event.payload as { key: unknown };
      if (key === "boom") throw new Error("no key for you");
      return key as string;
    },
    handler: (event) => {
      handled.push(event.payload);
    },
  });
  await until(() => transport.openCount === 1);
  await transport.publish({ name: "order.job", payload: { key: "boom" } });
  await transport.publish({ name: "order.job", payload: { key: 7 } });
  await transport.publish({ name: "order.job", payload: { key: "fine" } });
  await until(() => transport.settlements.length === 3);
  await worker.stop();
  assert.deepEqual(handled, [{ key: "fine" }]);
  assert.equal(worker.stats.invalid, 2);
  const [first, second, third] = transport.settlements.map((record) => record.settlement);
  assert.deepEqual(first, { type: "dead", reason: "TypeError: orderingKey threw: no key for you" });
  assert.equal(second?.type, "dead");
  assert.match((second as { reason: string }).reason, /orderingKey returned number/);
  assert.deepEqual(third, { type: "done" });
});

Deno.test("runWorker() and defineWorker() reject an orderingKey that is not a function", async () => {
  const transport = new MemoryTransport();
  await assert.rejects(
    runWorker({
      transport,
      names: ["order.job"],
      handler: () => {},
      orderingKey: "payload.key" as never,
    }),
    (error) => error instanceof TypeError && /orderingKey is "payload\.key"/.test(error.message),
  );
  assert.throws(
    () =>
      defineWorker({
        name: "ordered",
        names: ["order.job"],
        handler: () => {},
        orderingKey: 5 as never,
      }),
    (error) =>
      error instanceof TypeError && /registration "ordered": orderingKey is 5/.test(error.message),
  );
  assert.equal(transport.opens.length, 0);
});
