/**
 * NatsIdempotencyStore against a real `nats-server -js` started on a free
 * loopback port with a temporary store directory, stopped by its PID.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  type EventsClient,
  type IdempotencyOutcome,
  ListenerReadiness,
  Requester,
  runWorker,
  TransientError,
  WorkerStats,
} from "../mod.ts";
import { connectTcp } from "../src/nats/tcp.ts";
import { NatsIdempotencyStore } from "../src/nats/idempotency_store.ts";
import { startServer } from "./_server.ts";

const NATS_SERVER = "/usr/sbin/nats-server";
const OUTCOME: IdempotencyOutcome = { replies: [{ type: "reply", payload: { charged: 5 } }] };
const never = new AbortController().signal;

/** A running `nats-server -js`; disposing it stops the process and removes its store. */
interface NatsServer extends AsyncDisposable {
  readonly url: string;
  connect(): Promise<NatsConnection>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function startNats(): Promise<NatsServer> {
  const port = freePort();
  const storeDir = await Deno.makeTempDir({ prefix: "bus-nats-" });
  const child = new Deno.Command(NATS_SERVER, {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `nats://127.0.0.1:${port}`;
  const connections: NatsConnection[] = [];
  const connect = async () => {
    const connection = await connectTcp({ servers: url });
    connections.push(connection);
    return connection;
  };
  let reachable = false;
  const deadline = Date.now() + 10_000;
  while (!reachable && Date.now() < deadline) {
    try {
      const probe = await Deno.connect({ hostname: "127.0.0.1", port });
      probe.close();
      reachable = true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  if (!reachable) throw new Error(`nats-server did not listen on ${port}`);
  return {
    url,
    connect,
    async [Symbol.asyncDispose]() {
      await Promise.all(connections.map((connection) => connection.close()));
      Deno.kill(child.pid, "SIGTERM");
      await child.status;
      await Deno.remove(storeDir, { recursive: true });
    },
  };
}

Deno.test("NatsIdempotencyStore lets two workers on two connections share one outcome", async () => {
  await using nats = await startNats();
  await using server = await startServer();
  const stores = [
    await NatsIdempotencyStore.open({ connection: await nats.connect() }),
    await NatsIdempotencyStore.open({ connection: await nats.connect() }),
  ];
  const controller = new AbortController();
  let runs = 0;
  const stats = stores.map(() => new WorkerStats());
  const readiness = stores.map(() => new ListenerReadiness());
  const workers = stores.map((store, index) =>
    runWorker({
      transport: server.client as EventsClient,
      names: ["pay.charge.request"],
      delivery: "unicast",
      group: "billing",
      consumer: `billing-${index + 1}`,
      concurrency: 8,
      idempotency: { store },
      stats: stats[index],
      readiness: readiness[index],
      signal: controller.signal,
      handler: async (_event, publisher) => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        await publisher.reply({ chargeId: crypto.randomUUID() });
      },
    })
  );
  await Promise.all(readiness.map((ready) => ready.waitReady()));
  await using req = new Requester({
    transport: server.client,
    responseNames: ["pay.charge.response"],
    timeout: 10_000,
  });
  const answers = await Promise.all(
    Array.from(
      { length: 20 },
      () => req.request("pay.charge.request", {}, { idempotencyKey: "order-9" }),
    ),
  );
  controller.abort();
  await Promise.all(workers);
  assert.equal(runs, 1);
  assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1);
  assert.ok(stats.every((one) => one.handled > 0), "both workers answered some");
  assert.equal(stats[0]!.duplicates + stats[1]!.duplicates, 19);
});

Deno.test("NatsIdempotencyStore.claim() gives a key to exactly one of many racing claims", async () => {
  await using nats = await startNats();
  const [a, b] = await Promise.all([nats.connect(), nats.connect()]);
  const stores = [
    await NatsIdempotencyStore.open({ connection: a!, bucket: "race" }),
    await NatsIdempotencyStore.open({ connection: b!, bucket: "race" }),
  ];
  const claims = await Promise.all(
    Array.from({ length: 20 }, (_, i) => stores[i % 2]!.claim("k", `event-${i}`, 60_000)),
  );
  assert.equal(claims.filter((claim) => claim.status === "claimed").length, 1);
  assert.equal(claims.filter((claim) => claim.status === "pending").length, 19);
});

Deno.test("NatsIdempotencyStore records outcomes, lets its own owner reclaim, and lapses on its clock", async () => {
  await using nats = await startNats();
  const clock = { now: 1_000 };
  const store = await NatsIdempotencyStore.open({
    connection: await nats.connect(),
    now: () => clock.now,
  });
  assert.deepEqual(await store.claim("k", "event-1", 500), { status: "claimed" });
  assert.deepEqual(await store.claim("k", "event-2", 500), { status: "pending" });
  assert.deepEqual(await store.claim("k", "event-1", 500), { status: "claimed" }, "a redelivery");
  await store.complete("k", OUTCOME, 500);
  assert.deepEqual(await store.claim("k", "event-3", 500), { status: "done", outcome: OUTCOME });
  clock.now += 500;
  assert.deepEqual(await store.claim("k", "event-3", 500), { status: "claimed" });
  clock.now += 500;
  assert.deepEqual(await store.claim("k", "event-4", 500), { status: "claimed" }, "claim lapsed");
});

Deno.test("NatsIdempotencyStore.settled() wakes a waiter on another connection when the key completes", async () => {
  await using nats = await startNats();
  const first = await NatsIdempotencyStore.open({ connection: await nats.connect() });
  const second = await NatsIdempotencyStore.open({ connection: await nats.connect() });
  await second.settled("absent", never); // nothing stored: at once
  await first.claim("k", "event-1", 60_000);
  let woke = false;
  const waiting = second.settled("k", never).then(() => woke = true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(woke, false);
  await first.complete("k", OUTCOME, 60_000);
  await waiting;
  assert.deepEqual(await second.claim("k", "event-2", 60_000), {
    status: "done",
    outcome: OUTCOME,
  });
});

Deno.test("NatsIdempotencyStore.release() frees only its owner's claim and wakes a waiter elsewhere", async () => {
  await using nats = await startNats();
  const first = await NatsIdempotencyStore.open({ connection: await nats.connect() });
  const second = await NatsIdempotencyStore.open({ connection: await nats.connect() });
  await first.claim("k", "event-1", 60_000);
  let woke = false;
  const waiting = second.settled("k", never).then(() => woke = true);
  await first.release("k", "event-2"); // not its owner: nothing happens
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(woke, false);
  assert.deepEqual(await second.claim("k", "event-3", 60_000), { status: "pending" });
  await first.release("k", "event-1");
  await waiting;
  assert.deepEqual(await second.claim("k", "event-3", 60_000), { status: "claimed" });
  // A recorded outcome is not the claim's to release.
  await second.complete("k", OUTCOME, 60_000);
  await second.release("k", "event-3");
  assert.deepEqual(await first.claim("k", "event-4", 60_000), { status: "done", outcome: OUTCOME });
});

Deno.test("NatsIdempotencyStore names its bucket when the bucket is gone", async () => {
  await using nats = await startNats();
  const connection = await nats.connect();
  const store = await NatsIdempotencyStore.open({ connection, bucket: "billing-keys" });
  const { Kvm } = await import("@nats-io/kv");
  await (await new Kvm(connection).open("billing-keys")).destroy();
  await assert.rejects(
    store.claim("k", "event-1", 60_000),
    (error) =>
      error instanceof TransientError &&
      /Cannot use idempotency bucket "billing-keys"/.test(error.message),
  );
});

Deno.test("NatsIdempotencyStore.settled() rejects with the abort reason", async () => {
  await using nats = await startNats();
  const store = await NatsIdempotencyStore.open({ connection: await nats.connect() });
  await store.claim("k", "event-1", 60_000);
  const controller = new AbortController();
  const reason = new Error("drain timeout");
  const waiting = store.settled("k", controller.signal);
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(store.settled("k", controller.signal), (error) => error === reason);
});

Deno.test("NatsIdempotencyStore.open() rejects a bad bucket name or maxAge", async () => {
  await using nats = await startNats();
  const connection = await nats.connect();
  await assert.rejects(
    NatsIdempotencyStore.open({ connection, bucket: "has.dots" }),
    (error) => error instanceof TypeError && /bucket is "has\.dots"/.test(error.message),
  );
  for (const maxAge of [0, -1, Number.NaN, "1h" as unknown as number]) {
    await assert.rejects(
      NatsIdempotencyStore.open({ connection, maxAge }),
      (error) => error instanceof RangeError && /maxAge/.test(error.message),
    );
  }
});
