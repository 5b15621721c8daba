/**
 * Moving the broadcast listeners with consumers of their own onto the live
 * tail once it runs, against a real nats-server: every event once and in
 * order across the move while events flow, readiness untouched, one
 * consumer (the tail's) afterwards that delivers each event once; the
 * tail failing during and after a move (consumer deleted, server killed)
 * ends the listeners with `TransientError`, and they resume without a gap,
 * as a move does that cannot ask for its subject's last sequence;
 * `follow: false` reads stay on their own consumers.
 */
import assert from "node:assert/strict";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type EventEnvelope, listen, ListenerReadiness, TransientError } from "../mod.ts";
import { connectNats, type NatsTransport } from "../nats.ts";
import { natsTest, nextEvent, startNatsServer } from "./_nats_server.ts";
import { until } from "./_poll.ts";
import {
  consumerFilters,
  consumersBecome,
  history,
  listConsumers,
  STREAM,
} from "./_nats_stream_state.ts";

/** Publishes `event`, trying again while the server is away (a restart interrupts some). */
async function publishSurely(transport: NatsTransport, event: EventEnvelope): Promise<string> {
  while (true) {
    try {
      return (await transport.publish(event)).id!;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * A `listen()` loop on `name` from the start, recording what it receives,
 * its readiness flips, and why it turned not ready (the error it reopens after).
 */
function listener(transport: NatsTransport, name: string, signal: AbortSignal) {
  const readiness = new ListenerReadiness();
  const flips: boolean[] = [];
  const errors: string[] = [];
  readiness.addEventListener("change", (event) => {
    flips.push(event.ready);
    if (!event.ready && event.reason !== "stopped") errors.push(event.reason);
  });
  const received: string[] = [];
  const gate = { open: Promise.resolve() };
  const loop = listen({
    transport,
    stream: { name, replay: true },
    readiness,
    reconnect: { min: 20, max: 200 },
    signal,
    onEvent: async (event) => {
      received.push(event.id!);
      await gate.open;
    },
  });
  return { name, readiness, flips, received, errors, gate, loop };
}

/**
 * Starts listeners on one transport and stops them all: on `stop()`, or when
 * the test leaves its scope early, so a failed assertion does not leave
 * loops running into the closed transport (an uncaught error that would
 * fail the rest of the file).
 */
function listenerGroup(transport: NatsTransport) {
  const stopping = new AbortController();
  const started: ReturnType<typeof listener>[] = [];
  return {
    start(name: string): ReturnType<typeof listener> {
      const one = listener(transport, name, stopping.signal);
      started.push(one);
      return one;
    },
    async stop(): Promise<void> {
      stopping.abort();
      await Promise.all(started.map((l) => l.loop));
    },
    async [Symbol.asyncDispose](): Promise<void> {
      stopping.abort();
      await Promise.allSettled(started.map((l) => l.loop));
    },
  };
}

/** Holds `l` in its next `onEvent` until the returned function is called. */
function hold(l: ReturnType<typeof listener>): () => void {
  let release = () => {};
  l.gate.open = new Promise<void>((resolve) => release = resolve);
  return () => {
    l.gate.open = Promise.resolve();
    release();
  };
}

/** Polls until every listener received what the stream holds for its name. */
async function allReceived(
  transport: NatsTransport,
  listeners: readonly ReturnType<typeof listener>[],
): Promise<void> {
  for (const { name, received } of listeners) {
    const expected = await history(transport, name);
    await until(() => received.length >= expected.length, 10_000, `every event of ${name}`);
    assert.deepEqual(received, expected, `${name}: every event once, in order`);
  }
}

/** The tail's consumer (the one filtered to `bus.events.>`): its name and deliveries so far. */
async function tailConsumer(jsm: JetStreamManager): Promise<{ name: string; delivered: number }> {
  const consumers = await listConsumers(jsm);
  const tail = consumers.find((consumer) => consumer.config.filter_subject === "bus.events.>");
  assert.ok(tail !== undefined, "the tail runs");
  return { name: tail.name, delivered: tail.delivered.consumer_seq };
}

natsTest(
  "open() broadcast moves the first listeners onto the tail once it runs, every event once and in order while events flow",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    await using publisher = await connectNats({ servers: server.url });
    const jsm = await jetstreamManager(transport.connection);
    // A subject with a past and no future, and one with nothing at all: both hand over at once.
    await publisher.publish({ name: "past.only", payload: "before" });
    await using listening = listenerGroup(transport);
    const busy = Array.from({ length: 6 }, (_, i) => `busy.n${i}`);
    const listeners = [...busy, "past.only", "never.any"].map((name) => listening.start(name));
    await until(() => listeners.every((l) => l.readiness.ready), 5_000, "the first eight ready");
    await consumersBecome(jsm, [...busy, "never.any", "past.only"].map((n) => `bus.events.${n}`));
    let publishing = true;
    let sent = 0;
    const flowing = (async () => {
      for (; publishing || sent < 300; sent++) {
        await publisher.publish({ name: busy[sent % busy.length]!, payload: sent });
        await publisher.publish({ name: "unheard.x", payload: sent });
      }
    })();
    await until(() => listeners[0]!.received.length > 20, 5_000, "events flowing");
    // Held while events keep coming: each has its own consumer to read past
    // the tail's position when it moves, and the tail queues for it meanwhile.
    const releases = listeners.map(hold);
    const heldAt = sent;
    await until(() => sent >= heldAt + 60, 5_000, "a backlog");
    // The ninth starts the tail; the eight move onto it while events keep coming.
    const ninth = await transport.open({ name: busy[0]! });
    for (const release of releases) release();
    await consumersBecome(jsm, ["bus.events.>"]);
    publishing = false;
    await flowing;
    await allReceived(publisher, listeners);
    for (const { flips, errors } of listeners) {
      assert.deepEqual(flips, [true], "ready throughout");
      assert.deepEqual(errors, []);
    }

    // From now on every event comes into the process once, through the tail.
    const before = await tailConsumer(jsm);
    const ids: string[] = [];
    for (const name of [...busy, "past.only", "never.any"]) {
      ids.push(await publishSurely(publisher, { name, payload: "after" }));
    }
    await allReceived(publisher, listeners);
    assert.equal((await nextEvent(ninth, 10_000)).name, busy[0], "the ninth reads too");
    const after = await tailConsumer(jsm);
    assert.equal(after.name, before.name, "the same tail");
    assert.equal(after.delivered - before.delivered, ids.length, "one delivery per event");
    assert.deepEqual(await consumerFilters(jsm), ["bus.events.>"]);
    await listening.stop();
    await ninth.close();
    await consumersBecome(jsm, []);
  },
);

natsTest(
  "a listener moving onto the tail ends with TransientError when the tail fails, and resumes without a gap",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, shareListenersAfter: 1 });
    await using publisher = await connectNats({ servers: server.url });
    const jsm = await jetstreamManager(transport.connection);
    for (let n = 0; n < 600; n += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => publisher.publish({ name: "a.b", payload: n + i })),
      );
    }
    await using listening = listenerGroup(transport);
    const moving = listening.start("a.b");
    const release = hold(moving);
    await until(() => moving.received.length === 1, 5_000, "the first event");
    // Held at its first event: its own consumer has 599 to go when the tail takes it.
    const second = await transport.open({ name: "c.d" });
    await consumersBecome(jsm, ["bus.events.>", "bus.events.a.b"]);
    const failed = assert.rejects(
      second.next(),
      (error) => error instanceof TransientError && error.code === "consumer_deleted",
    );
    await jsm.consumers.delete(STREAM, (await tailConsumer(jsm)).name);
    await failed;
    // Its next read fails: what its own consumer fetched ahead is dropped.
    release();
    await until(() => moving.errors.length === 1, 5_000, "the moving listener to fail");
    assert.match(moving.errors[0]!, /^TransientError: .*the JetStream consumer is gone/);
    for (let n = 0; n < 20; n++) await publisher.publish({ name: "a.b", payload: `late ${n}` });
    await allReceived(publisher, [moving]);
    assert.deepEqual(moving.flips, [true, false, true], "one reconnect");
    await listening.stop();
    await second.close();
  },
);

natsTest(
  "moved listeners end with TransientError when the tail's consumer is deleted or the server killed, and resume without a gap",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, shareListenersAfter: 2 });
    await using publisher = await connectNats({ servers: server.url });
    const jsm = await jetstreamManager(transport.connection);
    await using listening = listenerGroup(transport);
    const names = ["a.b", "c.d", "e.f"];
    const listeners = names.map((name) => listening.start(name));
    const publishRound = async (payload: string) => {
      for (const name of names) await publishSurely(publisher, { name, payload });
    };
    await until(() => listeners.every((l) => l.readiness.ready), 5_000, "all ready");
    await consumersBecome(jsm, ["bus.events.>"]);
    await publishRound("moved");
    await allReceived(publisher, listeners);

    await jsm.consumers.delete(STREAM, (await tailConsumer(jsm)).name);
    await until(() => listeners.every((l) => l.errors.length === 1), 5_000, "all to fail");
    for (const { errors } of listeners) {
      assert.match(errors[0]!, /^TransientError: .*the JetStream consumer is gone/);
    }
    await publishRound("after the delete");
    await allReceived(publisher, listeners);
    // Reopened through openBroadcast: the tail runs again, and holds them all.
    await consumersBecome(jsm, ["bus.events.>"]);

    await server.kill();
    await until(() => listeners.every((l) => l.errors.length === 2), 5_000, "all to fail again");
    for (const { errors } of listeners) {
      assert.match(errors[1]!, /^TransientError: .*the NATS connection was lost/);
    }
    await server.start();
    await publishRound("after the restart");
    await allReceived(publisher, listeners);
    await consumersBecome(jsm, ["bus.events.>"]);
    await listening.stop();
  },
);

natsTest(
  "open() broadcast with follow: false keeps its own consumer while the tail runs, and ends by itself",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, shareListenersAfter: 1 });
    const jsm = await jetstreamManager(transport.connection);
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      ids.push((await transport.publish({ name: "a.b", payload: n })).id!);
    }
    const reading = await transport.open({ name: "a.b", replay: true, follow: false });
    const own = await transport.open({ name: "c.d" });
    const onTail = await transport.open({ name: "e.f" });
    await consumersBecome(jsm, ["bus.events.>", "bus.events.a.b"]);
    assert.deepEqual(await history(transport, "a.b"), ids);
    const read: string[] = [];
    for await (const event of reading) read.push(event.id!);
    assert.deepEqual(read, ids, "ended once caught up");
    await consumersBecome(jsm, ["bus.events.>"]);
    await own.close();
    await onTail.close();
    await consumersBecome(jsm, []);
  },
);

natsTest(
  "a listener whose move cannot ask for its subject's last sequence ends with TransientError move_failed, and resumes on the tail",
  async () => {
    // Allowed everything but the one request a move makes.
    await using server = await startNatsServer({
      config: `authorization { users: [{ user: "a", password: "b", permissions: {
        publish: { allow: [">"], deny: ["$JS.API.STREAM.MSG.GET.>"] } } }] }`,
    });
    const credentials = { user: "a", password: "b" };
    await using transport = await connectNats({
      servers: server.url,
      ...credentials,
      shareListenersAfter: 1,
    });
    await using publisher = await connectNats({ servers: server.url, ...credentials });
    const jsm = await jetstreamManager(transport.connection);
    await using listening = listenerGroup(transport);
    const moving = listening.start("a.b");
    await until(() => moving.readiness.ready, 5_000, "the first listener ready");
    await publishSurely(publisher, { name: "a.b", payload: "before" });
    await until(() => moving.received.length === 1, 5_000, "the first event");
    const second = await transport.open({ name: "c.d" });
    await until(() => moving.errors.length === 1, 10_000, "the move to fail");
    assert.match(moving.errors[0]!, /^TransientError: .*the move onto the shared live tail failed/);
    await until(() => moving.readiness.ready, 5_000, "the listener back");
    await consumersBecome(jsm, ["bus.events.>"]);
    for (let n = 0; n < 5; n++) await publishSurely(publisher, { name: "a.b", payload: n });
    await allReceived(publisher, [moving]);
    assert.deepEqual(moving.flips, [true, false, true], "one reconnect");
    await listening.stop();
    await second.close();
  },
);
