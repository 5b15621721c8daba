/**
 * Broadcast subscriptions of NatsTransport against a real nats-server:
 * ordered consumers from new, from the start (replay) or after
 * `lastEventId`, `follow: false`, the settled-prefix resume point, and
 * resuming through `listen()` after a consumer loss and a server restart
 * without gaps or duplicates: each with listeners on consumers of their own
 * (the default for a few listeners) and on the shared live tail.
 */
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  type EventEnvelope,
  type EventSubscription,
  type InvalidInput,
  listen,
  ListenerReadiness,
  TransientError,
} from "../mod.ts";
import { connectNats, type NatsTransport } from "../nats.ts";
import { until } from "./_poll.ts";
import { listConsumers } from "./_nats_stream_state.ts";
import { stopOnDispose } from "./_worker_run.ts";
import { natsTest, nextEvent, startNatsServer } from "./_nats_server.ts";

async function collect(subscription: EventSubscription): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for await (const event of subscription) {
    events.push(event);
    await subscription.settle(event, { type: "done" });
  }
  return events;
}

/** Every event on `name` the stream holds now, read with replay up to the end. */
async function history(transport: NatsTransport, name: string): Promise<string[]> {
  const events = await collect(await transport.open({ name, replay: true, follow: false }));
  return events.map((event) => event.id!);
}

/** Every test twice: listeners on consumers of their own, and on the shared live tail. */
const SHARING = [
  ["", {}],
  [" (on the live tail)", { shareListenersAfter: 0 }],
] as const;

for (const [suffix, sharing] of SHARING) {
  natsTest(
    `open() broadcast reads from the newest event on and resumes from the stream's last sequence${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      await transport.publish({ name: "a.b", payload: "before" });
      await transport.publish({ name: "c.d", payload: "other" });
      const subscription = await transport.open({ name: "a.b" });
      assert.equal(subscription.redelivers, false);
      assert.equal(subscription.workingInterval, undefined);
      assert.equal(subscription.lastEventId, "2", "a reopen before any event misses nothing");
      await transport.publish({ name: "c.d", payload: "other" });
      await transport.publish({ name: "a.b", payload: "after" });
      const value = await nextEvent(subscription);
      assert.deepEqual([value.id, value.payload], ["4", "after"]);
      assert.equal(subscription.attempt(value), 1);
      await subscription.close();
    },
  );

  natsTest(
    `open() broadcast with replay and follow: false reads the history of one name and ends${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      for (let n = 0; n < 3; n++) {
        await transport.publish({ name: "a.b", payload: n });
        await transport.publish({ name: "a.b.c", payload: "longer name" });
      }
      const events = await collect(
        await transport.open({ name: "a.b", replay: true, follow: false }),
      );
      assert.deepEqual(events.map((event) => [event.id, event.payload]), [["1", 0], ["3", 1], [
        "5",
        2,
      ]]);
      assert.deepEqual(
        await collect(
          await transport.open({ name: "never.published", replay: true, follow: false }),
        ),
        [],
        "an empty history ends at once",
      );
      const jsm = await jetstreamManager(transport.connection);
      let left = -1;
      for (let tries = 0; tries < 200 && left !== 0; tries++) {
        left = (await listConsumers(jsm)).length;
        if (left !== 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(left, 0, "closing deletes the ordered consumers");
    },
  );

  natsTest(
    `EventSubscription.lastEventId moves over the settled prefix and reopens without gaps or duplicates${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      for (let n = 0; n < 6; n++) await transport.publish({ name: "a.b", payload: n });
      const first = await transport.open({ name: "a.b", replay: true });
      assert.equal(first.lastEventId, undefined, "replay starts before the first event");
      const taken = [
        await nextEvent(first),
        await nextEvent(first),
        await nextEvent(first),
      ];
      await first.settle(taken[0]!, { type: "done" });
      await first.settle(taken[2]!, { type: "done" });
      assert.equal(first.lastEventId, "1", "the event still in a handler holds the point back");
      await first.settle(taken[1]!, { type: "done" });
      assert.equal(first.lastEventId, "3");
      await first.close();
      const resumed = await transport.open({
        name: "a.b",
        lastEventId: first.lastEventId,
        follow: false,
      });
      assert.deepEqual((await collect(resumed)).map((event) => event.id), ["4", "5", "6"]);
    },
  );

  natsTest(
    `a broadcast message that is not an envelope is skipped, reported and passed by the resume point${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      const invalid: InvalidInput[] = [];
      await transport.publish({ name: "c.d" }); // sets the stream up
      await jetstream(transport.connection).publish("bus.events.a.b", "{oops");
      await transport.publish({ name: "a.b", payload: "fine" });
      await jetstream(transport.connection).publish("bus.events.a.b", "null");
      const subscription = await transport.open({
        name: "a.b",
        replay: true,
        follow: false,
        onInvalid: (report) => invalid.push(report),
      });
      const events = await collect(subscription);
      assert.deepEqual(events.map((event) => event.payload), ["fine"]);
      assert.deepEqual(invalid.map((report) => report.kind), ["invalid-json", "not-an-envelope"]);
      assert.equal(subscription.lastEventId, "4");
      assert.equal(transport.stats.invalid, 2);
    },
  );

  natsTest(
    `open() broadcast rejects a lastEventId that is not a stream sequence${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      await assert.rejects(
        transport.open({ name: "a.b", lastEventId: "0000-abc" }),
        (error) =>
          error instanceof TypeError && /not a JetStream stream sequence/.test(error.message),
      );
    },
  );

  natsTest(
    `EventSubscription.next() throws TransientError when the ordered consumer is deleted${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      const subscription = await transport.open({ name: "a.b" });
      // Observed from the start: the rejection may come while the delete is still answered.
      const failed = assert.rejects(
        subscription.next(),
        (error) => error instanceof TransientError && error.code === "consumer_deleted",
      );
      const jsm = await jetstreamManager(transport.connection);
      const [consumer] = await listConsumers(jsm);
      await jsm.consumers.delete("BUS_EVENTS", consumer!.name);
      await failed;
    },
  );

  natsTest(
    `listen() on NATS resumes after a deleted consumer and a server restart without gaps or duplicates${suffix}`,
    async () => {
      await using server = await startNatsServer();
      await using transport = await connectNats({ servers: server.url, ...sharing });
      await using publisher = await connectNats({ servers: server.url, ...sharing });
      const readiness = new ListenerReadiness();
      const flips: boolean[] = [];
      readiness.addEventListener("change", (event) => flips.push(event.ready));
      const received: string[] = [];
      const stop = new AbortController();
      const listening = listen({
        transport,
        stream: { name: "a.b", replay: true },
        readiness,
        reconnect: { min: 20, max: 200 },
        signal: stop.signal,
        onEvent: (event) => void received.push(event.id!),
      });
      // Stopped before the transports close, also when an assertion fails first.
      await using _listener = stopOnDispose(stop, listening);
      let published = 0;
      const publishSome = async (count: number) => {
        for (let n = 0; n < count; n++) {
          // A publish the restart interrupts is tried again: the stream's own
          // history, not this counter, says what the listener must have seen.
          while (true) {
            try {
              await publisher.publish({ name: "a.b", payload: published });
              break;
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          }
          published++;
        }
      };
      await publishSome(20);
      await until(() => received.length === 20, 10_000, "the first events");
      const jsm = await jetstreamManager(transport.connection);
      const [consumer] = await listConsumers(jsm);
      await jsm.consumers.delete("BUS_EVENTS", consumer!.name);
      await publishSome(20);
      await until(() => received.length >= 40, 10_000, "events after the deleted consumer");
      await server.restart();
      await publishSome(20);
      const expected = await (async () => {
        await until(() => readiness.ready, 15_000, "readiness after the restart");
        return await history(publisher, "a.b");
      })();
      await until(() => received.length >= expected.length, 15_000, "events after the restart");
      stop.abort();
      await listening;
      assert.deepEqual(received, expected, "every event once, in stream order");
      assert.ok(expected.length >= 60);
      assert.deepEqual(flips.slice(0, 3), [true, false, true]);
      assert.ok(
        flips.filter((ready) => !ready).length >= 3,
        "not ready at each loss and at the end",
      );
    },
  );
}
