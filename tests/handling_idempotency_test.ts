/**
 * Idempotency keys end to end: requesters and workers over loopback against
 * the reference server, the in-memory transport where the published events
 * are inspected, and the middleware on its own for the retry path.
 */
import assert from "node:assert/strict";
import {
  defineWorker,
  type EventEnvelope,
  Host,
  IDEMPOTENCY_KEY,
  IDEMPOTENCY_UNAVAILABLE,
  type IdempotencyStore,
  ListenerReadiness,
  MemoryIdempotencyStore,
  NonRetryableError,
  redrive,
  Requester,
  ResponseError,
  runWorker,
  type WorkerHandler,
  type WorkerOptions,
  WorkerStats,
} from "../mod.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { idempotency } from "../src/handling/idempotency.ts";
import { EventPublisher } from "../src/publisher.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { until } from "./_poll.ts";
import { retained, startServer, type TestServer } from "./_server.ts";

const RECONNECT = { min: 20, max: 200 };
const REQUEST = "pay.charge.request";

/** Starts `count` workers of one unicast group on the server; `stop()` ends them. */
async function group(
  server: TestServer,
  handler: WorkerHandler,
  extra: Partial<WorkerOptions> & { count?: number } = {},
) {
  const controller = new AbortController();
  const { count = 3, ...options } = extra;
  const stats = Array.from({ length: count }, () => new WorkerStats());
  const readiness = stats.map(() => new ListenerReadiness());
  const done = stats.map((workerStats, index) =>
    runWorker({
      transport: server.client,
      names: [REQUEST],
      delivery: "unicast",
      group: "billing",
      consumer: `billing-${index + 1}`,
      concurrency: 4,
      reconnect: RECONNECT,
      signal: controller.signal,
      stats: workerStats,
      readiness: readiness[index],
      handler,
      ...options,
    })
  );
  await Promise.all(readiness.map((ready) => ready.waitReady()));
  return {
    stats,
    sum: (field: "handled" | "duplicates" | "inFlight") =>
      stats.reduce((total, one) => total + one[field], 0),
    stop: async () => {
      controller.abort();
      await Promise.all(done);
    },
  };
}

function requester(server: TestServer) {
  return new Requester({
    transport: server.client,
    responseNames: ["pay.charge.response"],
    timeout: 10_000,
    reconnect: RECONNECT,
  });
}

/** What the middleware gets with `event` when it runs without a worker. */
function middlewareContext(transport: MemoryTransport, event: EventEnvelope): HandlerContext {
  return {
    publisher: new EventPublisher(transport, event, new AbortController().signal, "billing"),
    signal: new AbortController().signal,
    attempt: 1,
    settlement: undefined,
  };
}

/** The correlation id and payload of every event `transport` carried. */
function repliesOf(transport: MemoryTransport) {
  return transport.published.map(({ correlationId, payload }) => ({ correlationId, payload }));
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

Deno.test("runWorker() runs a key once for 50 requests to 3 workers of a group, and all get its reply", async () => {
  await using server = await startServer();
  const store = new MemoryIdempotencyStore();
  let runs = 0;
  const workers = await group(server, async (_event, publisher) => {
    runs++;
    await new Promise((resolve) => setTimeout(resolve, 30));
    await publisher.reply({ chargeId: crypto.randomUUID(), runs });
  }, { idempotency: { store } });
  await using req = requester(server);
  const answers = await Promise.all(
    Array.from(
      { length: 50 },
      () => req.request(REQUEST, { amount: 5 }, { idempotencyKey: "order-1" }),
    ),
  );
  await workers.stop();
  assert.equal(runs, 1);
  assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1);
  assert.equal((answers[0] as { runs: number }).runs, 1);
  assert.equal(workers.sum("duplicates"), 49);
  assert.ok(workers.stats.filter((one) => one.handled > 0).length >= 2, "the group shared them");
});

Deno.test("runWorker() runs a key again once its ttl passed on the store's clock", async () => {
  await using server = await startServer();
  const clock = { now: 0 };
  const store = new MemoryIdempotencyStore({ now: () => clock.now });
  let runs = 0;
  const workers = await group(server, (_event, publisher) => publisher.reply({ run: ++runs }), {
    idempotency: { store, ttl: 60_000 },
  });
  await using req = requester(server);
  let asked = 0;
  // The response can arrive before the worker stored the outcome: wait for the worker.
  const ask = async () => {
    const answer = await req.request(REQUEST, {}, { idempotencyKey: "order-2" });
    asked++;
    await until(() => workers.sum("handled") === asked, 5_000, "the outcome stored");
    return answer;
  };
  assert.deepEqual(await ask(), { run: 1 });
  clock.now += 59_999;
  assert.deepEqual(await ask(), { run: 1 });
  clock.now += 1;
  assert.deepEqual(await ask(), { run: 2 });
  assert.deepEqual(await ask(), { run: 2 });
  await workers.stop();
  assert.equal(runs, 2);
});

Deno.test("runWorker() holds a duplicate that arrives while the first is in flight until it ends", async () => {
  await using server = await startServer();
  const store = new MemoryIdempotencyStore();
  const release = gate();
  let runs = 0;
  const workers = await group(server, async (_event, publisher) => {
    runs++;
    await release.opened;
    await publisher.reply({ run: runs });
  }, { idempotency: { store } });
  await using req = requester(server);
  let answered = 0;
  const first = req.request(REQUEST, {}, { idempotencyKey: "order-3" }).finally(() => answered++);
  await until(() => runs === 1, 5_000, "the first running");
  const second = req.request(REQUEST, {}, { idempotencyKey: "order-3" }).finally(() => answered++);
  await until(() => workers.sum("inFlight") === 2, 5_000, "the duplicate waiting");
  assert.equal(answered, 0);
  release.open();
  assert.deepEqual(await Promise.all([first, second]), [{ run: 1 }, { run: 1 }]);
  await workers.stop();
  assert.equal(runs, 1);
});

Deno.test("runWorker() answers a duplicate with the error reply its first handling published", async () => {
  await using server = await startServer();
  let runs = 0;
  const workers = await group(server, async (_event, publisher) => {
    runs++;
    await publisher.replyError("card_declined", "insufficient funds");
  }, { count: 1 });
  await using req = requester(server);
  const errors: ResponseError[] = [];
  for (let i = 0; i < 2; i++) {
    await req.request(REQUEST, {}, { idempotencyKey: "order-4" }).catch((error) => {
      errors.push(error);
    });
  }
  await workers.stop();
  assert.equal(runs, 1);
  assert.deepEqual(errors.map(({ code, message }) => ({ code, message })), [
    { code: "card_declined", message: "insufficient funds" },
    { code: "card_declined", message: "insufficient funds" },
  ]);
  assert.notEqual(errors[0]!.correlationId, errors[1]!.correlationId, "each under its own id");
});

Deno.test("runWorker() runs a key again after its first handling failed for good", async () => {
  await using server = await startServer();
  let runs = 0;
  const firstStarted = gate();
  const failFirst = gate();
  const workers = await group(server, async (_event, publisher) => {
    if (++runs === 1) {
      firstStarted.open();
      await failFirst.opened;
      throw new ResponseError({ code: "card_declined", message: "no funds yet" });
    }
    await publisher.reply({ charged: runs });
  }, { count: 1 });
  await using req = requester(server);
  const first = req.request(REQUEST, {}, { idempotencyKey: "order-5" }).catch((error) => error);
  await firstStarted.opened;
  // Arrives while the first is in flight: waits for it, then runs itself.
  const waiting = req.request(REQUEST, {}, { idempotencyKey: "order-5" });
  await until(() => workers.sum("inFlight") === 2);
  failFirst.open();
  const failure = await first;
  assert.ok(failure instanceof ResponseError);
  assert.equal(failure.code, "card_declined");
  assert.deepEqual(await waiting, { charged: 2 });
  // Now the key has an outcome: a third request is a duplicate of the second.
  assert.deepEqual(await req.request(REQUEST, {}, { idempotencyKey: "order-5" }), {
    charged: 2,
  });
  await workers.stop();
  assert.equal(runs, 2);
  assert.equal(workers.sum("duplicates"), 1);
});

Deno.test("redrive() of a dead letter with an idempotency key runs the handler again", async () => {
  await using server = await startServer();
  let dependencyUp = false;
  let runs = 0;
  const workers = await group(server, async (_event, publisher) => {
    runs++;
    if (!dependencyUp) throw new NonRetryableError("ledger down", { code: "ledger_down" });
    await publisher.reply({ charged: runs });
  }, { count: 1 });
  await using req = requester(server);
  const failure = await req.request(REQUEST, {}, { idempotencyKey: "order-8" }).catch((e) => e);
  assert.equal((failure as ResponseError).code, "ledger_down");
  await until(() => workers.stats[0]!.deadLettered === 1);
  dependencyUp = true;
  const result = await redrive({ transport: server.client, from: `${REQUEST}.dead-letter` });
  assert.equal(result.redriven, 1);
  await until(() => workers.sum("handled") === 1);
  // The redrive's outcome is the key's now: a client retry gets it.
  assert.deepEqual(await req.request(REQUEST, {}, { idempotencyKey: "order-8" }), { charged: 2 });
  await workers.stop();
  assert.equal(runs, 2);
  assert.equal(workers.sum("duplicates"), 1);
});

Deno.test("runWorker() scopes keys by unicast group and event name", async () => {
  const transport = new MemoryTransport();
  const store = new MemoryIdempotencyStore();
  const runs: string[] = [];
  const controller = new AbortController();
  const start = (group: string) =>
    runWorker({
      transport,
      names: ["pay.charge.request", "pay.refund.request"],
      delivery: "unicast",
      group,
      idempotency: { store },
      signal: controller.signal,
      handler: (event) => {
        runs.push(`${group} ${event.name}`);
      },
    });
  const workers = [start("billing"), start("audit")];
  await until(() => transport.openCount === 4);
  const metadata = { [IDEMPOTENCY_KEY]: "same" };
  for (let i = 0; i < 3; i++) {
    await transport.publish({ name: "pay.charge.request", metadata });
    await transport.publish({ name: "pay.refund.request", metadata });
  }
  await until(() => transport.settlements.length === 12);
  controller.abort();
  await Promise.all(workers);
  assert.deepEqual(runs.sort(), [
    "audit pay.charge.request",
    "audit pay.refund.request",
    "billing pay.charge.request",
    "billing pay.refund.request",
  ]);
});

Deno.test("runWorker() runs events without a key, or with idempotency off, every time", async () => {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const runs = { keyed: 0, plain: 0 };
  const workers = [
    runWorker({
      transport,
      names: ["job.keyed"],
      idempotency: false,
      signal: controller.signal,
      handler: () => void runs.keyed++,
    }),
    runWorker({
      transport,
      names: ["job.plain"],
      signal: controller.signal,
      handler: () => void runs.plain++,
    }),
  ];
  await until(() => transport.openCount === 2);
  for (let i = 0; i < 3; i++) {
    await transport.publish({ name: "job.keyed", metadata: { [IDEMPOTENCY_KEY]: "k" } });
    await transport.publish({ name: "job.plain", metadata: { [IDEMPOTENCY_KEY]: "" } });
  }
  await until(() => transport.settlements.length === 6);
  controller.abort();
  await Promise.all(workers);
  assert.deepEqual(runs, { keyed: 3, plain: 3 });
});

Deno.test("runWorker() skips a duplicate fire-and-forget event without replying", async () => {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const stats = new WorkerStats();
  let runs = 0;
  const worker = runWorker({
    transport,
    names: ["job.run"],
    stats,
    signal: controller.signal,
    handler: () => void runs++,
  });
  await until(() => transport.openCount === 1);
  await transport.publish({ name: "job.run", metadata: { [IDEMPOTENCY_KEY]: "k" } });
  await transport.publish({ name: "job.run", metadata: { [IDEMPOTENCY_KEY]: "k" } });
  await until(() => transport.settlements.length === 2);
  controller.abort();
  await worker;
  assert.equal(runs, 1);
  assert.equal(stats.duplicates, 1);
  assert.deepEqual(transport.settlements.map((record) => record.settlement.type), ["done", "done"]);
  assert.equal(transport.published.length, 2, "nothing but the two events");
});

/** A store over `inner` whose claims fail while `failing()` says so. */
function flakyStore(inner: IdempotencyStore, failing: () => boolean): IdempotencyStore {
  return {
    claim: (key, owner, ttl) =>
      failing() ? Promise.reject(new Error("bucket unreachable")) : inner.claim(key, owner, ttl),
    complete: (key, outcome, ttl) => inner.complete(key, outcome, ttl),
    release: (key, owner) => inner.release(key, owner),
    settled: (key, signal) => inner.settled(key, signal),
  };
}

Deno.test("runWorker() retries an event whose store claim failed, and runs it once the store is back", async () => {
  await using server = await startServer();
  let failures = 1;
  let runs = 0;
  const workers = await group(server, async (_event, publisher) => {
    runs++;
    await publisher.reply({ charged: true });
  }, {
    count: 1,
    retry: { attempts: 3, delay: 0 },
    idempotency: { store: flakyStore(new MemoryIdempotencyStore(), () => failures-- > 0) },
  });
  await using req = requester(server);
  assert.deepEqual(await req.request(REQUEST, {}, { idempotencyKey: "order-6" }), {
    charged: true,
  });
  await workers.stop();
  assert.equal(runs, 1);
  assert.equal(workers.stats[0]!.retried, 1);
  assert.equal(workers.stats[0]!.deadLettered, 0);
});

Deno.test("runWorker() answers idempotency_unavailable and dead-letters an event whose store stayed down", async () => {
  await using server = await startServer();
  let runs = 0;
  const workers = await group(server, () => void runs++, {
    count: 1,
    retry: { attempts: 2, delay: 0 },
    idempotency: { store: flakyStore(new MemoryIdempotencyStore(), () => true) },
  });
  await using req = requester(server);
  const failure = await req.request(REQUEST, {}, { idempotencyKey: "order-7" }).catch((e) => e);
  await until(() => workers.stats[0]!.deadLettered === 1);
  await workers.stop();
  assert.equal(runs, 0, "never run without its claim");
  assert.ok(failure instanceof ResponseError);
  assert.equal(failure.code, IDEMPOTENCY_UNAVAILABLE);
  assert.match(failure.message, /Cannot check the idempotency key: .*bucket unreachable/);
  const stats = workers.stats[0]!;
  assert.deepEqual([stats.failed, stats.retried], [1, 1]);
  const [deadLetter] = await retained(server, `${REQUEST}.dead-letter`);
  const payload = deadLetter?.payload as {
    attempts: number;
    error: { name: string; code: string };
    envelope: EventEnvelope;
  };
  assert.equal(payload.attempts, 2);
  assert.deepEqual(payload.error.code, IDEMPOTENCY_UNAVAILABLE);
  assert.equal(payload.error.name, "IdempotencyUnavailableError");
  assert.equal(payload.envelope.metadata?.[IDEMPOTENCY_KEY], "order-7");
});

Deno.test("idempotency() keeps the claim of an attempt settled retry, so only its own retry runs", async () => {
  const transport = new MemoryTransport();
  const store = new MemoryIdempotencyStore();
  let attempts = 0;
  const pipeline = compose([
    idempotency({ store, ttl: 60_000, scope: "billing" }),
    async (_event, context, next) => {
      try {
        await next();
      } catch (error) {
        context.settlement = { type: "retry", delay: 0 };
        throw error;
      }
    },
  ], async (_event, context) => {
    if (++attempts === 1) throw new Error("flaky");
    await context.publisher.reply({ attempts });
  });
  const contextFor = (event: EventEnvelope) => middlewareContext(transport, event);
  const metadata = { [IDEMPOTENCY_KEY]: "k" };
  const first: EventEnvelope = { id: "1", name: REQUEST, correlationId: "c-1", metadata };
  await assert.rejects(pipeline(first, contextFor(first)), /flaky/);
  const scoped = `billing\u0000${REQUEST}\u0000k`;
  assert.equal((await store.claim(scoped, "other", 60_000)).status, "pending");
  await pipeline(first, contextFor(first)); // the retry claims its own key again
  const duplicate: EventEnvelope = { id: "2", name: REQUEST, correlationId: "c-2", metadata };
  await pipeline(duplicate, contextFor(duplicate));
  assert.equal(attempts, 2);
  assert.deepEqual(
    repliesOf(transport),
    [{ correlationId: "c-1", payload: { attempts: 2 } }, {
      correlationId: "c-2",
      payload: { attempts: 2 },
    }],
  );
});

Deno.test("Requester.request() and gather() carry idempotencyKey in the metadata", async () => {
  const transport = new MemoryTransport();
  await using req = new Requester({
    transport,
    responseNames: ["pay.charge.response"],
    timeout: 50,
  });
  await req.readiness.waitReady();
  await req.request(REQUEST, {}, { idempotencyKey: "a", metadata: { tenant: "t1" } })
    .catch(() => {});
  await req.gather(REQUEST, {}, { idempotencyKey: "b", minResponses: 1 }).catch(() => {});
  assert.deepEqual(transport.published.map((event) => event.metadata), [
    { tenant: "t1", [IDEMPOTENCY_KEY]: "a" },
    { [IDEMPOTENCY_KEY]: "b" },
  ]);
  for (const idempotencyKey of ["", 7 as unknown as string]) {
    await assert.rejects(
      req.request(REQUEST, {}, { idempotencyKey }),
      (error) => error instanceof TypeError && /idempotencyKey/.test(error.message),
    );
  }
});

Deno.test("runWorker(), defineWorker() and Host reject invalid idempotency options", async () => {
  const transport = new MemoryTransport();
  const cases: Array<[unknown, ErrorConstructor, RegExp]> = [
    [{ ttl: "x" }, TypeError, /idempotency\.ttl is "x"/],
    [{ ttl: 0 }, RangeError, /idempotency\.ttl is 0/],
    [{ ttl: -5 }, RangeError, /idempotency\.ttl is -5/],
    [{ ttl: Infinity }, RangeError, /idempotency\.ttl is Infinity/],
    [{ store: {} }, TypeError, /idempotency\.store lacks claim, complete, release, settled/],
    [5, TypeError, /idempotency is 5/],
  ];
  for (const [idempotency, type, message] of cases) {
    const check = (error: unknown) => error instanceof type && message.test(String(error));
    await assert.rejects(
      runWorker({
        transport,
        names: [REQUEST],
        handler: () => {},
        idempotency: idempotency as never,
      }),
      check,
    );
    assert.throws(
      () =>
        defineWorker({
          name: "pay",
          names: [REQUEST],
          handler: () => {},
          idempotency: idempotency as never,
        }),
      check,
    );
    assert.throws(
      () =>
        new Host({
          transport,
          idempotency: idempotency as never,
          registrations: [{ name: "pay", names: [REQUEST], handler: () => {} }],
        }),
      check,
    );
  }
  assert.equal(transport.opens.length, 0);
});

Deno.test("Host shares one store between its registrations unless one sets its own", async () => {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  let runs = 0;
  const handler = () => void runs++;
  const host = new Host({
    transport,
    signal: controller.signal,
    registrations: [
      { name: "pay-1", names: [REQUEST], delivery: "unicast", group: "billing", handler },
      { name: "pay-2", names: [REQUEST], delivery: "unicast", group: "billing", handler },
    ],
  });
  const running = host.run();
  await until(() => transport.openCount === 2);
  for (let i = 0; i < 4; i++) {
    await transport.publish({ name: REQUEST, metadata: { [IDEMPOTENCY_KEY]: "k" } });
  }
  await until(() => transport.settlements.length === 4);
  const { registrations } = host.report();
  controller.abort();
  await running;
  assert.equal(runs, 1);
  assert.equal(registrations.reduce((sum, one) => sum + one.duplicates, 0), 3);
});

Deno.test("idempotency() answers the same through an asynchronous store as through the in-memory one", async () => {
  const run = async (store: IdempotencyStore) => {
    const transport = new MemoryTransport();
    let runs = 0;
    const pipeline = compose([idempotency({ store, ttl: 60_000, scope: "billing" })], async (
      _event,
      context,
    ) => {
      runs++;
      await context.publisher.reply({ runs });
    });
    const metadata = { [IDEMPOTENCY_KEY]: "k" };
    const events: EventEnvelope[] = ["1", "2", "3"].map((id) => ({
      id,
      name: REQUEST,
      correlationId: `c-${id}`,
      metadata,
    }));
    // The first two at once (the second waits for the first), the third after.
    const contextOf = (event: EventEnvelope) => middlewareContext(transport, event);
    await Promise.all(events.slice(0, 2).map((event) => pipeline(event, contextOf(event))));
    await pipeline(events[2]!, contextOf(events[2]!));
    return {
      runs,
      replies: repliesOf(transport),
    };
  };
  const memory = new MemoryIdempotencyStore();
  const seen: string[] = [];
  const delayed: IdempotencyStore = {
    claim: async (key, owner, ttl) => {
      seen.push(key);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return await memory.claim(key, owner, ttl);
    },
    complete: async (key, outcome, ttl) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      await memory.complete(key, outcome, ttl);
    },
    release: (key, owner) => memory.release(key, owner),
    settled: (key, signal) => memory.settled(key, signal),
  };
  const direct = await run(new MemoryIdempotencyStore());
  const viaInterface = await run(delayed);
  assert.deepEqual(viaInterface, direct);
  assert.equal(direct.runs, 1);
  assert.equal(direct.replies.length, 3);
  assert.ok(seen.every((key) => key === `billing\u0000${REQUEST}\u0000k`), "the scoped key");
});

Deno.test("idempotency() records the outcome of a key the in-memory store evicted while it ran", async () => {
  const transport = new MemoryTransport();
  // Room for one key: the second event's claim evicts the first's while it runs.
  const store = new MemoryIdempotencyStore({ maxEntries: 1 });
  const { opened, open } = gate();
  let runs = 0;
  const pipeline = compose([idempotency({ store, ttl: 60_000, scope: "billing" })], async (
    event,
    context,
  ) => {
    runs++;
    if (event.id === "1") await opened;
    await context.publisher.reply({ id: event.id });
  });
  const contextOf = (event: EventEnvelope) => middlewareContext(transport, event);
  const event = (id: string, key: string): EventEnvelope => ({
    id,
    name: REQUEST,
    correlationId: `c-${id}`,
    metadata: { [IDEMPOTENCY_KEY]: key },
  });
  const first = pipeline(event("1", "a"), contextOf(event("1", "a")));
  await pipeline(event("2", "b"), contextOf(event("2", "b")));
  open();
  await first;
  assert.equal(store.size, 1);
  // "a" was stored again on completion (evicting "b"): its duplicate gets its reply.
  await pipeline(event("3", "a"), contextOf(event("3", "a")));
  assert.equal(runs, 2);
  assert.deepEqual(
    repliesOf(transport),
    [
      { correlationId: "c-2", payload: { id: "2" } },
      { correlationId: "c-1", payload: { id: "1" } },
      { correlationId: "c-3", payload: { id: "1" } },
    ],
  );
});
