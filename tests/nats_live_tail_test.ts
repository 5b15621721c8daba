/**
 * The shared live tail of NatsTransport against a real nats-server: one
 * ordered consumer for every broadcast listener of a transport, demultiplexed
 * by subject; start positions from the newest event on, after `lastEventId`
 * and with `replay` (a catch-up handing over without gap or duplicate while
 * events keep coming); a listener that falls behind; the tail's failures;
 * `shareListenersAfter`, the listeners with consumers of their own until the
 * tail runs (moving them across is tested in `nats_tail_move_test.ts`).
 */
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  type EventEnvelope,
  type EventSubscription,
  type InvalidInput,
  TransientError,
} from "../mod.ts";
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

/** Every listener on the tail, from the first one on. */
const SHARED = { shareListenersAfter: 0 };

/** Reads and settles `subscription` until its resume point reaches `lastId`. */
async function readThrough(subscription: EventSubscription, lastId: string): Promise<string[]> {
  const ids: string[] = [];
  while (Number(subscription.lastEventId ?? 0) < Number(lastId)) {
    const event = await nextEvent(subscription);
    ids.push(event.id!);
    await subscription.settle(event, { type: "done" });
  }
  return ids;
}

/** Reads and settles the next `count` events of `subscription`; resolves with their ids. */
async function take(subscription: EventSubscription, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const event = await nextEvent(subscription);
    ids.push(event.id!);
    await subscription.settle(event, { type: "done" });
  }
  return ids;
}

/** Publishes `event` and resolves with its id, the stream sequence. */
async function publishId(transport: NatsTransport, event: EventEnvelope): Promise<string> {
  const { id } = await transport.publish(event);
  assert.ok(id !== undefined, "JetStream answers with the stream sequence");
  return id;
}

/** Publishes `count` events on `name`, each followed by one on `other`; resolves with the last id. */
async function publishInterleaved(
  transport: NatsTransport,
  name: string,
  other: string,
  count: number,
): Promise<string> {
  let last = "";
  for (let n = 0; n < count; n++) {
    last = await publishId(transport, { name, payload: n });
    await transport.publish({ name: other, payload: n });
  }
  return last;
}

natsTest(
  "open() broadcast shares one live-tail consumer between listeners and deletes it after the last",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const jsm = await jetstreamManager(transport.connection);
    const invalid: InvalidInput[] = [];
    const names = Array.from({ length: 20 }, (_, i) => `a.n${i}`);
    const subscriptions = await Promise.all(
      [...names, "a.n0"].map((name) =>
        transport.open({ name, onInvalid: (report) => invalid.push(report) })
      ),
    );
    await consumersBecome(jsm, ["bus.events.>"]);
    // Nobody listens to this subject: dropped before any parse, so not reported.
    await jetstream(transport.connection).publish("bus.events.nobody.listens", "{oops");
    const ids = new Map<string, string>();
    for (const name of names) ids.set(name, await publishId(transport, { name, payload: name }));
    for (const [i, subscription] of subscriptions.entries()) {
      const name = [...names, "a.n0"][i]!;
      const event = await nextEvent(subscription);
      assert.deepEqual([event.name, event.id, event.payload], [name, ids.get(name), name]);
    }
    assert.deepEqual(invalid, []);
    assert.equal(transport.stats.invalid, 0);
    await Promise.all(subscriptions.slice(1).map((subscription) => subscription.close()));
    await consumersBecome(jsm, ["bus.events.>"]);
    await subscriptions[0]!.close();
    await consumersBecome(jsm, []);
    const again = await transport.open({ name: "a.n1" });
    await consumersBecome(jsm, ["bus.events.>"]);
    await transport.publish({ name: "a.n1", payload: "again" });
    assert.equal((await nextEvent(again)).payload, "again", "a new tail after the last left");
    await again.close();
  },
);

natsTest(
  "open() broadcast from the newest event on gets every later event once, in order, while events flow",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    await using publisher = await connectNats({ servers: server.url });
    const first = await transport.open({ name: "a.b" });
    const publishing = publishInterleaved(publisher, "a.b", "c.d", 300);
    const late: EventSubscription[] = [];
    while (late.length < 4) {
      await new Promise((resolve) => setTimeout(resolve, 15));
      late.push(await transport.open({ name: "a.b" }));
    }
    const starts = [first, ...late].map((subscription) => Number(subscription.lastEventId));
    assert.ok(starts[4]! > starts[0]!, "opened while events flowed");
    const lastId = await publishing;
    for (const [i, subscription] of [first, ...late].entries()) {
      const ids = await readThrough(subscription, lastId);
      assert.deepEqual(ids, await history(publisher, "a.b", starts[i]), `from ${starts[i]} on`);
      await subscription.close();
    }
  },
);

natsTest(
  "open() broadcast with lastEventId or replay catches up and hands over to the tail without gap or duplicate",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    await using publisher = await connectNats({ servers: server.url });
    const jsm = await jetstreamManager(transport.connection);
    const live = await transport.open({ name: "a.b" });
    await publishInterleaved(publisher, "a.b", "c.d", 200);
    // Caught up while 200 more arrive: the tail queues them meanwhile.
    const publishing = publishInterleaved(publisher, "a.b", "c.d", 200);
    const resumed = await transport.open({ name: "a.b", lastEventId: "51" });
    const replayed = await transport.open({ name: "a.b", replay: true });
    const quiet = await transport.open({ name: "quiet.x", lastEventId: "1" });
    const lastId = await publishing;
    assert.deepEqual(await readThrough(resumed, lastId), await history(publisher, "a.b", 51));
    assert.deepEqual(await readThrough(replayed, lastId), await history(publisher, "a.b"));
    const quietId = await publishId(publisher, { name: "quiet.x", payload: "only" });
    assert.deepEqual(await readThrough(quiet, quietId), [quietId], "nothing to catch up with");
    await consumersBecome(jsm, ["bus.events.>"]);
    const moreId = await publishInterleaved(publisher, "a.b", "c.d", 5);
    assert.deepEqual(
      await readThrough(resumed, moreId),
      await history(publisher, "a.b", Number(lastId)),
      "on the tail after the hand-over",
    );
    for (const subscription of [live, resumed, replayed, quiet]) await subscription.close();
  },
);

natsTest(
  "open() broadcast with follow: false reads through its own consumer and never starts the tail",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const jsm = await jetstreamManager(transport.connection);
    for (let n = 0; n < 3; n++) await transport.publish({ name: "a.b", payload: n });
    const subscription = await transport.open({ name: "a.b", replay: true, follow: false });
    assert.deepEqual(await consumerFilters(jsm), ["bus.events.a.b"]);
    const events: EventEnvelope[] = [];
    for await (const event of subscription) events.push(event);
    assert.deepEqual(events.map((event) => event.payload), [0, 1, 2]);
    await consumersBecome(jsm, []);
  },
);

natsTest(
  "a listener that falls 1,024 events behind the tail ends with TransientError overflow, the others keep theirs",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const slow = await transport.open({ name: "a.b" });
    const fast = await transport.open({ name: "a.b" });
    const count = 1_100;
    const reading = take(fast, count);
    const ids: string[] = [];
    for (let n = 0; n < count; n += 50) {
      const batch = Array.from(
        { length: 50 },
        (_, i) => publishId(transport, { name: "a.b", payload: n + i }),
      );
      ids.push(...await Promise.all(batch));
    }
    assert.deepEqual(await reading, ids, "the fast listener has all");
    await assert.rejects(
      slow.next(),
      (error) => error instanceof TransientError && error.code === "overflow",
    );
    const resumed = await transport.open({ name: "a.b", lastEventId: slow.lastEventId });
    assert.deepEqual(await readThrough(resumed, ids.at(-1)!), ids, "resumed by a catch-up");
    await fast.close();
    await resumed.close();
  },
);

natsTest(
  "the live tail's failure ends every listener on it with TransientError, and the next open makes a new tail",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const jsm = await jetstreamManager(transport.connection);
    const first = await transport.open({ name: "a.b" });
    const second = await transport.open({ name: "c.d" });
    const failures = [first, second].map((subscription) =>
      assert.rejects(
        subscription.next(),
        (error) => error instanceof TransientError && error.code === "consumer_deleted",
      )
    );
    const [tail] = await listConsumers(jsm);
    await jsm.consumers.delete(STREAM, tail!.name);
    await Promise.all(failures);
    const published = await publishId(transport, { name: "a.b", payload: "after" });
    const reopened = await transport.open({ name: "a.b", lastEventId: first.lastEventId });
    assert.deepEqual(await readThrough(reopened, published), [published]);
    await consumersBecome(jsm, ["bus.events.>"]);
    await reopened.close();

    const third = await transport.open({ name: "a.b" });
    const lost = assert.rejects(
      third.next(),
      (error) => error instanceof TransientError && error.code === "disconnected",
    );
    await server.kill();
    await lost;
  },
);

natsTest(
  "open() broadcast gives the first shareListenersAfter listeners consumers of their own, moves them onto the tail once it runs",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, shareListenersAfter: 2 });
    const jsm = await jetstreamManager(transport.connection);
    // A failed open gives its place back.
    await assert.rejects(transport.open({ name: "a.b", lastEventId: "x" }), TypeError);
    const first = await transport.open({ name: "a.b" });
    const second = await transport.open({ name: "c.d" });
    const history = await transport.open({ name: "e.f", follow: false, replay: true });
    await consumersBecome(jsm, ["bus.events.a.b", "bus.events.c.d", "bus.events.e.f"]);
    await history.close();
    const third = await transport.open({ name: "e.f" });
    // The tail runs: the first two move onto it (their subjects are quiet, so at once).
    await consumersBecome(jsm, ["bus.events.>"]);
    const fourth = await transport.open({ name: "g.h" });
    const ids = [];
    for (const name of ["a.b", "c.d", "e.f", "g.h"]) ids.push(await publishId(transport, { name }));
    assert.deepEqual(
      await Promise.all([first, second, third, fourth].map(async (s) => (await nextEvent(s)).id)),
      ids,
    );
    await first.close();
    // While the tail runs, a new listener joins it.
    const fifth = await transport.open({ name: "i.j" });
    await consumersBecome(jsm, ["bus.events.>"]);
    for (const subscription of [second, third, fourth, fifth]) await subscription.close();
    await consumersBecome(jsm, []);
    // The moved listeners gave their places back: two consumers of their own again.
    const again = [await transport.open({ name: "a.b" }), await transport.open({ name: "c.d" })];
    await consumersBecome(jsm, ["bus.events.a.b", "bus.events.c.d"]);
    for (const subscription of again) await subscription.close();
    await consumersBecome(jsm, []);
  },
);

natsTest(
  "a listener still catching up ends with TransientError when the connection breaks, its buffer dropped",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const jsm = await jetstreamManager(transport.connection);
    for (let n = 0; n < 600; n += 100) {
      await Promise.all(
        Array.from(
          { length: 100 },
          (_, i) => publishId(transport, { name: "a.b", payload: n + i }),
        ),
      );
    }
    const replayed = await transport.open({ name: "a.b", replay: true });
    assert.deepEqual(await take(replayed, 10), Array.from({ length: 10 }, (_, i) => String(i + 1)));
    await consumersBecome(jsm, ["bus.events.>", "bus.events.a.b"]);
    await server.kill();
    await until(() => transport.stats.disconnects === 1, 5_000, "the client to see the loss");
    // What the catch-up fetched ahead is not handed out after the loss.
    await assert.rejects(
      replayed.next(),
      (error) => error instanceof TransientError && error.code === "disconnected",
    );
    assert.equal(replayed.lastEventId, "10");
  },
);

natsTest(
  "the live tail ends its listeners with TransientError when the stream is deleted",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const jsm = await jetstreamManager(transport.connection);
    const subscriptions = [
      await transport.open({ name: "a.b" }),
      await transport.open({ name: "c.d" }),
    ];
    const ended = subscriptions.map((subscription) =>
      assert.rejects(
        subscription.next(),
        (error) =>
          error instanceof TransientError &&
          ["stream_not_found", "consumer_deleted"].includes(error.code),
      )
    );
    await jsm.streams.delete(STREAM);
    await Promise.all(ended);
    const reopened = await transport.open({ name: "a.b", lastEventId: "0" });
    const id = await publishId(transport, { name: "a.b", payload: "new stream" });
    assert.equal((await nextEvent(reopened)).id, id, "the stream is set up again");
    await reopened.close();
  },
);

natsTest(
  "next() on the live tail rejects a second read while one is pending, and the first still gets the event",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const subscription = await transport.open({ name: "a.twice" });
    const first = subscription.next();
    await assert.rejects(subscription.next(), /Cannot read a subscription twice at once/);
    const id = await publishId(transport, { name: "a.twice", payload: 1 });
    const result = await first;
    assert.equal(result.done, false);
    assert.equal(result.value?.id, id);
    await subscription.settle(result.value!, { type: "done" });
    assert.equal(subscription.lastEventId, id);
    await subscription.close();
  },
);

natsTest(
  "next() on the live tail rejects with the abort reason when the signal aborts while it waits",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const stop = new AbortController();
    const subscription = await transport.open({ name: "a.abort", signal: stop.signal });
    const pending = subscription.next();
    stop.abort(new Error("stopped by the test"));
    await assert.rejects(pending, /stopped by the test/);
    assert.deepEqual(await subscription.next(), { done: true, value: undefined });
  },
);
