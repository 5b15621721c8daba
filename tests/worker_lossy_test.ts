/**
 * Lossy and critical workers under a burst: the burst is 10,000 retained
 * events replayed over loopback by the reference server; settlement and
 * health are checked on the in-memory transport.
 */
import assert from "node:assert/strict";
import {
  defineWorker,
  type DropInfo,
  EventsClient,
  Host,
  runWorker,
  type WorkerOptions,
  type WorkerStats,
} from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { until } from "./_poll.ts";
import { publishAll } from "./_server.ts";
import { gate, startWorker } from "./_worker_run.ts";

const BURST = 10_000;

/** A reference server holding a burst of `BURST` retained events. */
async function burstServer() {
  const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: BURST });
  const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const client = new EventsClient({ baseUrl: served.url });
  await publishAll(
    client,
    Array.from({ length: BURST }, (_, n) => ({ name: "metrics.sample", payload: { n } })),
  );
  return {
    client,
    [Symbol.asyncDispose]: () => api.close(),
  };
}

/** Starts a worker on `metrics.sample` unless the test names others. */
function start(options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler">) {
  return startWorker({ names: ["metrics.sample"], ...options });
}

/** Events a worker has read so far: dropped, waiting, or in a handler. */
const read = (stats: WorkerStats) => stats.handled + stats.inFlight + stats.queued + stats.dropped;

Deno.test("runWorker() with lossy keeps reading a burst past slow handlers and drops what does not fit", async () => {
  await using server = await burstServer();
  const slow = gate();
  const handled = new Set<number>();
  const dropped = new Set<number>();
  const infos: DropInfo[] = [];
  const worker = start({
    transport: server.client,
    replay: true,
    concurrency: 2,
    lossy: {
      buffer: 100,
      onDrop: (info) => {
        infos.push(info);
        dropped.add((info.event.payload as { n: number }).n);
      },
    },
    handler: async (event) => {
      await slow.opened;
      handled.add((event.payload as { n: number }).n);
    },
  });
  // The handlers do not move until the whole burst was read.
  await until(() => read(worker.stats) === BURST, 20_000, "the burst read");
  assert.equal(worker.stats.inFlight, 2);
  assert.equal(worker.stats.queued, 100);
  slow.open();
  await until(() => worker.stats.handled === 102, 5_000, "the buffer handled");
  await worker.stop();
  assert.equal(worker.stats.maxQueued, 100, "never more than the buffer waiting");
  assert.equal(worker.stats.dropped, BURST - 102);
  assert.equal(dropped.size, worker.stats.dropped, "every drop reported once");
  assert.equal(handled.size + dropped.size, BURST);
  assert.ok([...handled].every((n) => !dropped.has(n)), "what was handled was not dropped");
  assert.deepEqual(infos.at(-1)!.dropped, BURST - 102);
  assert.equal(infos[0]!.buffer, 100);
});

Deno.test("runWorker() without lossy drops nothing of the same burst and holds only its slots", async () => {
  await using server = await burstServer();
  const slow = gate();
  const handled = new Set<number>();
  const worker = start({
    transport: server.client,
    replay: true,
    concurrency: 2,
    handler: async (event) => {
      await slow.opened;
      handled.add((event.payload as { n: number }).n);
    },
  });
  await until(() => worker.stats.inFlight === 2, 5_000, "both slots busy");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(worker.stats.queued <= 1, "one event waits for a slot, the rest is unread");
  slow.open();
  await until(() => worker.stats.handled === BURST, 20_000, "every event handled");
  await worker.stop();
  assert.equal(worker.stats.dropped, 0);
  assert.equal(handled.size, BURST);
  assert.ok(worker.stats.maxQueued <= 1);
});

Deno.test("runWorker() with lossy settles a dropped event done at once", async () => {
  const transport = new MemoryTransport();
  const slow = gate();
  const worker = start({ transport, lossy: { buffer: 1 }, handler: () => slow.opened });
  await until(() => transport.openCount === 1);
  for (let i = 0; i < 5; i++) await transport.publish({ name: "metrics.sample", payload: i });
  await until(() => worker.stats.dropped === 3);
  assert.deepEqual(
    transport.settlements.map(({ id, settlement }) => [id, settlement.type]),
    [["3", "done"], ["4", "done"], ["5", "done"]],
    "the resume point can move past them while 1 and 2 wait",
  );
  slow.open();
  await until(() => transport.settlements.length === 5);
  await worker.stop();
});

Deno.test("runWorker() with lossy counts events behind a busy ordering key against the buffer", async () => {
  const transport = new MemoryTransport();
  const slow = gate();
  const handled: number[] = [];
  const worker = start({
    transport,
    concurrency: 4,
    lossy: { buffer: 3 },
    orderingKey: () => "one",
    handler: async (event) => {
      await slow.opened;
      handled.push(event.payload as number);
    },
  });
  await until(() => transport.openCount === 1);
  for (let i = 0; i < 10; i++) await transport.publish({ name: "metrics.sample", payload: i });
  await until(() => worker.stats.dropped === 6);
  slow.open();
  await until(() => worker.stats.handled === 4);
  await worker.stop();
  assert.deepEqual(handled, [0, 1, 2, 3], "in order, one at a time");
});

Deno.test("runWorker() with lossy goes on when onDrop throws", async () => {
  const transport = new MemoryTransport();
  const slow = gate();
  const worker = start({
    transport,
    lossy: {
      buffer: 1,
      onDrop: () => {
        throw new Error("dashboard down");
      },
    },
    handler: () => slow.opened,
  });
  await until(() => transport.openCount === 1);
  for (let i = 0; i < 4; i++) await transport.publish({ name: "metrics.sample", payload: i });
  await until(() => worker.stats.dropped === 2);
  slow.open();
  await until(() => worker.stats.handled === 2);
  await transport.publish({ name: "metrics.sample", payload: 99 });
  await until(() => worker.stats.handled === 3, 5_000, "still listening");
  await worker.stop();
});

Deno.test("Host reports dropped events per registration in /readyz", async () => {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const slow = gate();
  const host = new Host({
    transport,
    signal: controller.signal,
    registrations: [
      defineWorker({
        name: "dashboard",
        names: ["metrics.sample"],
        lossy: { buffer: 2 },
        handler: () => slow.opened,
      }),
      defineWorker({ name: "audit", names: ["metrics.sample"], handler: () => slow.opened }),
    ],
  });
  const running = host.run();
  await host.readiness.waitReady();
  for (let i = 0; i < 10; i++) await transport.publish({ name: "metrics.sample", payload: i });
  await until(() => host.report().registrations[0]!.dropped === 7);
  const body = await (await host.fetch(new Request("http://health/readyz"))).json();
  assert.deepEqual(
    body.registrations.map((
      { name, dropped }: { name: string; dropped: number },
    ) => [name, dropped]),
    [["dashboard", 7], ["audit", 0]],
  );
  slow.open();
  controller.abort();
  await running;
});

Deno.test("runWorker() and defineWorker() reject invalid lossy options, naming them", async () => {
  const transport = new MemoryTransport();
  const cases: Array<[unknown, ErrorConstructor, RegExp]> = [
    [{ buffer: 0 }, RangeError, /lossy\.buffer is 0/],
    [{ buffer: -1 }, RangeError, /lossy\.buffer is -1/],
    [{ buffer: 1.5 }, RangeError, /lossy\.buffer is 1\.5/],
    [{ buffer: "10" }, RangeError, /lossy\.buffer is "10"/],
    [{}, RangeError, /lossy\.buffer is undefined/],
    [{ buffer: 10, onDrop: "log" }, TypeError, /lossy\.onDrop is "log"/],
    [true, TypeError, /lossy is true/],
  ];
  for (const [lossy, type, message] of cases) {
    const check = (error: unknown) => error instanceof type && message.test(String(error));
    await assert.rejects(
      runWorker({ transport, names: ["metrics.sample"], handler: () => {}, lossy: lossy as never }),
      check,
    );
    assert.throws(
      () =>
        defineWorker({
          name: "dashboard",
          names: ["metrics.sample"],
          handler: () => {},
          lossy: lossy as never,
        }),
      check,
    );
  }
  assert.equal(transport.opens.length, 0);
});
