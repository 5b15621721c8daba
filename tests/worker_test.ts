/**
 * runWorker() against the reference server over loopback, and its drain
 * timing under fake time.
 */
import assert from "node:assert/strict";
import {
  AuthError,
  BadRequestError,
  type EventEnvelope,
  EventsClient,
  ListenerReadiness,
  type ReadinessChangeEvent,
  ResponseError,
  runWorker,
  type WorkerOptions,
  WorkerStats,
} from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer, type TestServer } from "./_server.ts";
import { fakeTime } from "./_fake_time.ts";
import { scriptedFetch } from "./_scripted_fetch.ts";

const FAST_RETRY = { min: 10, max: 50 };

/** Starts a worker in the background; `stop()` aborts it and returns its outcome. */
function startWorker(
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler">,
) {
  const controller = new AbortController();
  const stats = options.stats ?? new WorkerStats();
  const readiness = options.readiness ?? new ListenerReadiness();
  const done = runWorker({
    names: ["demo.job.request"],
    reconnect: FAST_RETRY,
    signal: controller.signal,
    stats,
    readiness,
    ...options,
  });
  done.catch(() => {}); // observed by the test through `done`
  return {
    stats,
    readiness,
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Collects responses on the response name. */
async function collectResponses(server: TestServer, name = "demo.job.response") {
  const controller = new AbortController();
  const responses: EventEnvelope[] = [];
  const stream = await server.client.open({ name, signal: controller.signal });
  const reading = (async () => {
    try {
      for await (const event of stream) responses.push(event);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  return {
    responses,
    stop: async () => {
      controller.abort();
      await reading;
    },
  };
}

Deno.test("runWorker() survives 5 forced stream drops and handles every event sent while connected", async () => {
  await using server = await startServer();
  const handled: number[] = [];
  const worker = startWorker({
    transport: server.client,
    handler: (event) => {
      handled.push(event.payload as number);
    },
  });
  let sent = 0;
  for (let round = 0; round < 6; round++) {
    await worker.readiness.waitReady();
    await until(() => server.api.stats.openStreams === 1, 5_000, "worker connected");
    for (let i = 0; i < 20; i++) {
      await server.client.publish({ name: "demo.job.request", payload: sent++ });
    }
    await until(() => handled.length === sent, 5_000, `round ${round} handled`);
    if (round < 5) {
      const dropped = server.api.faults.dropStreams();
      assert.equal(dropped, 1);
      await until(() => !worker.readiness.ready, 5_000, "readiness dropped");
    }
  }
  await worker.stop();
  assert.deepEqual(handled, Array.from({ length: sent }, (_, i) => i));
  assert.equal(worker.stats.handled, 120);
});

Deno.test("runWorker() started before the server connects once the server is up", async () => {
  const api = (await import("../testing.ts")).createEventsApi({ heartbeatMs: 0 });
  const first = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const port = first.port;
  const token = await api.mintToken();
  await first.close(); // nothing listens on the port now
  const client = new EventsClient({ baseUrl: `http://127.0.0.1:${port}`, token });
  const flips: boolean[] = [];
  const readiness = new ListenerReadiness();
  readiness.addEventListener("change", (e: ReadinessChangeEvent) => flips.push(e.ready));
  const handled: unknown[] = [];
  const worker = startWorker({
    transport: client,
    readiness,
    reconnect: { min: 100, max: 400 },
    handler: (event) => {
      handled.push(event.payload);
    },
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(readiness.ready, false, "not ready while the server is down");
    const served = await api.serve({ hostname: "127.0.0.1", port });
    await readiness.waitReady();
    await client.publish({ name: "demo.job.request", payload: "late server" });
    await until(() => handled.length === 1);
    await worker.stop();
    await served.close();
  } finally {
    await api.close();
  }
  assert.deepEqual(handled, ["late server"]);
  assert.deepEqual(flips, [true, false]);
});

Deno.test("runWorker() fails fast with AuthError on 401", async () => {
  await using server = await startServer();
  const client = server.newClient({ token: "expired-or-wrong" });
  const worker = startWorker({ transport: client, handler: () => {} });
  await assert.rejects(worker.done, (e) => e instanceof AuthError && e.status === 401);
  assert.equal(worker.readiness.ready, false);
});

Deno.test("runWorker() recovers from 401 with token refresh and a provider", async () => {
  await using server = await startServer();
  let calls = 0;
  const client = server.newClient({
    token: ({ refresh }) => {
      calls++;
      return refresh ? server.token : "stale";
    },
  });
  const handled: unknown[] = [];
  const worker = startWorker({
    transport: client,
    tokenRefresh: true,
    handler: (e) => {
      handled.push(e.payload);
    },
  });
  await worker.readiness.waitReady();
  await server.client.publish({ name: "demo.job.request", payload: 1 });
  await until(() => handled.length === 1);
  await worker.stop();
  assert.ok(calls >= 2);
});

Deno.test("runWorker() treats 400 as permanent", async () => {
  await using server = await startServer();
  server.api.faults.failNext("stream", { status: 400, count: 1 });
  const worker = startWorker({ transport: server.client, handler: () => {} });
  await assert.rejects(worker.done, BadRequestError);
});

Deno.test("runWorker() retries a 503 after its Retry-After and then handles events", async () => {
  await using server = await startServer();
  server.api.faults.failNext("stream", { status: 503, retryAfter: 1, count: 2 });
  const handled: unknown[] = [];
  const started = Date.now();
  const worker = startWorker({
    transport: server.client,
    handler: (e) => {
      handled.push(e.payload);
    },
  });
  await worker.readiness.waitReady();
  assert.ok(Date.now() - started >= 2_000, "waited Retry-After twice, not the 10 ms backoff");
  await server.client.publish({ name: "demo.job.request", payload: "after 503" });
  await until(() => handled.length === 1);
  await worker.stop();
});

Deno.test("runWorker() with 3 workers in one unicast group handles 3,000 events exactly once", async () => {
  await using server = await startServer();
  const handledBy = new Map<string, number[]>();
  const workers = ["w1", "w2", "w3"].map((consumer) => {
    const mine: number[] = [];
    handledBy.set(consumer, mine);
    return startWorker({
      transport: server.client,
      delivery: "unicast",
      group: "jobs",
      consumer,
      concurrency: 4,
      handler: (e) => {
        mine.push(e.payload as number);
      },
    });
  });
  await Promise.all(workers.map((w) => w.readiness.waitReady()));
  const total = 3000;
  const publishers = Array.from({ length: 8 }, async (_, lane) => {
    for (let i = lane; i < total; i += 8) {
      await server.client.publish({ name: "demo.job.request", payload: i });
    }
  });
  await Promise.all(publishers);
  const count = () => [...handledBy.values()].reduce((n, l) => n + l.length, 0);
  await until(() => count() >= total, 20_000, "3,000 handled");
  await Promise.all(workers.map((w) => w.stop()));
  const all = [...handledBy.values()].flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: total }, (_, i) => i));
  for (const [consumer, list] of handledBy) assert.ok(list.length > 0, `${consumer} idle`);
});

Deno.test("runWorker() answers a throwing handler with an error response and goes on", async () => {
  await using server = await startServer();
  const collector = await collectResponses(server);
  const worker = startWorker({
    transport: server.client,
    consumer: "job-worker",
    handler: async (event, publisher) => {
      const n = event.payload as number;
      if (n === 1) throw new Error("cannot do job 1");
      if (n === 2) throw new ResponseError({ code: "quota_exceeded", message: "no quota" });
      await publisher.reply({ done: n });
    },
  });
  await worker.readiness.waitReady();
  for (let n = 0; n < 4; n++) {
    await server.client.publish({ name: "demo.job.request", correlationId: `c${n}`, payload: n });
  }
  await until(() => collector.responses.length === 4, 5_000, "4 responses");
  await worker.stop();
  await collector.stop();
  const byId = new Map(collector.responses.map((r) => [r.correlationId, r]));
  assert.deepEqual(byId.get("c0")!.payload, { done: 0 });
  assert.deepEqual(byId.get("c1")!.error, { code: "handler_failed", message: "cannot do job 1" });
  assert.deepEqual(byId.get("c2")!.error, { code: "quota_exceeded", message: "no quota" });
  assert.deepEqual(byId.get("c3")!.payload, { done: 3 });
  assert.equal(byId.get("c3")!.source, "job-worker");
  assert.equal(worker.stats.failed, 2);
  assert.equal(worker.stats.handled, 2);
  assert.match(worker.stats.lastError!, /no quota/);
});

for (const concurrency of [1, 4]) {
  Deno.test(`runWorker() never runs more than concurrency=${concurrency} handlers`, async () => {
    await using server = await startServer();
    let running = 0;
    let peak = 0;
    let handled = 0;
    const worker = startWorker({
      transport: server.client,
      concurrency,
      handler: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        handled++;
      },
    });
    await worker.readiness.waitReady();
    await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) => server.client.publish({ name: "demo.job.request", payload: i }),
      ),
    );
    await until(() => handled === 60, 10_000, "60 handled");
    await worker.stop();
    assert.equal(peak, concurrency, "the limit is reached and never passed");
    assert.equal(worker.stats.maxInFlight, concurrency);
  });
}

Deno.test("runWorker() on abort stops reading, drains in-flight handlers, then resolves", async () => {
  await using server = await startServer();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const started: number[] = [];
  const finished: number[] = [];
  const controller = new AbortController();
  const worker = runWorker({
    transport: server.client,
    names: ["demo.job.request"],
    concurrency: 2,
    reconnect: FAST_RETRY,
    signal: controller.signal,
    handler: async (event) => {
      started.push(event.payload as number);
      await gate;
      finished.push(event.payload as number);
    },
  });
  let resolved = false;
  worker.then(() => resolved = true, () => {});
  await until(() => server.api.stats.openStreams === 1);
  for (let i = 0; i < 5; i++) await server.client.publish({ name: "demo.job.request", payload: i });
  await until(() => started.length === 2, 5_000, "two handlers busy");
  controller.abort();
  await until(() => server.api.stats.openStreams === 0, 5_000, "stream closed");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(resolved, false, "waits for in-flight handlers");
  release();
  await worker;
  assert.deepEqual(finished.sort(), [0, 1]);
  assert.deepEqual(started.sort(), [0, 1], "no new event started after abort");
});

Deno.test("runWorker() gives up on handlers at the drain timeout and aborts their signal", async () => {
  using time = fakeTime();
  const script = scriptedFetch([{ events: [{ name: "demo.job.request", id: "1" }], end: "hang" }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const controller = new AbortController();
  let handlerSignal: AbortSignal | undefined;
  let resolved = false;
  const worker = runWorker({
    transport: client,
    names: ["demo.job.request"],
    signal: controller.signal,
    drainTimeout: 5_000,
    handler: (_event, publisher) => {
      handlerSignal = publisher.signal;
      return new Promise(() => {}); // never finishes
    },
  }).then(() => resolved = true);
  await time.clock.tickAsync(10);
  assert.ok(handlerSignal);
  controller.abort();
  await time.clock.tickAsync(4_999);
  assert.equal(resolved, false);
  assert.equal(handlerSignal.aborted, false);
  await time.clock.tickAsync(1);
  await worker;
  assert.equal(handlerSignal.aborted, true);
  assert.equal(handlerSignal.reason.name, "TimeoutError");
});

Deno.test("runWorker() counts and skips a malformed line", async () => {
  await using server = await startServer();
  const handled: unknown[] = [];
  const invalid: string[] = [];
  const worker = startWorker({
    transport: server.client,
    onInvalid: (i) => invalid.push(i.excerpt),
    handler: (e) => {
      handled.push(e.payload);
    },
  });
  await worker.readiness.waitReady();
  await until(() => server.api.stats.openStreams === 1);
  server.api.faults.sendMalformed("{broken");
  await server.client.publish({ name: "demo.job.request", payload: "ok" });
  await until(() => handled.length === 1);
  await worker.stop();
  assert.equal(worker.stats.invalid, 1);
  assert.deepEqual(invalid, ["{broken"]);
});

Deno.test("runWorker() rejects invalid names and concurrency up front", async () => {
  const client = new EventsClient({ baseUrl: "http://bus.test" });
  await assert.rejects(
    runWorker({ transport: client, names: [], handler: () => {} }),
    /names is empty/,
  );
  await assert.rejects(
    runWorker({ transport: client, names: ["Bad.Name"], handler: () => {} }),
    TypeError,
  );
  await assert.rejects(
    runWorker({ transport: client, names: ["a.b"], concurrency: 0, handler: () => {} }),
    RangeError,
  );
});
