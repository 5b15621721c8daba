/**
 * Unicast subscriptions of NatsTransport against a real nats-server: one
 * durable consumer per (group, name) shared by the group, settlement as
 * ack / nak(delay) / term, maxDeliver, ackWait redelivery, and messages that
 * are not envelopes.
 */
import assert from "node:assert/strict";
import { captureLogs } from "./_log_capture.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { delay, type EventSubscription, type InvalidInput } from "../mod.ts";
import { connectNats, durableName, type NatsTransport } from "../nats.ts";
import { until } from "./_poll.ts";
import { listConsumers } from "./_nats_stream_state.ts";
import { natsTest, nextEvent, startNatsServer } from "./_nats_server.ts";

/** The group's durable consumer as the server reports it. */
async function consumerInfo(transport: NatsTransport, group: string, name: string) {
  const jsm = await jetstreamManager(transport.connection);
  return await jsm.consumers.info("BUS_EVENTS", await durableName(group, name));
}

natsTest(
  "open() unicast shares one durable consumer between the subscriptions of a group",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    const open = (group: string) =>
      transport.open({ name: "job.run.request", delivery: "unicast", group, concurrency: 1 });
    const [a, b, other] = [await open("workers"), await open("workers"), await open("audit")];
    for (let n = 0; n < 20; n++) await transport.publish({ name: "job.run.request", payload: n });
    // Each subscription reads until it is closed; the test closes them all
    // once every event has arrived (or the wait runs out).
    const takenBy = new Map<string, string[]>();
    let audit = 0;
    const read = async (label: string, subscription: EventSubscription) => {
      for await (const event of subscription) {
        if (label === "audit") audit++;
        else takenBy.set(event.id!, [...takenBy.get(event.id!) ?? [], label]);
        await subscription.settle(event, { type: "done" });
      }
    };
    const reading = Promise.all([read("a", a), read("b", b), read("audit", other)]);
    const taken = () => [...takenBy.values()].flat().length;
    await until(() => taken() >= 20 && audit >= 20, 10_000, "every event").finally(() =>
      Promise.all([a.close(), b.close(), other.close()])
    );
    await reading;
    assert.equal(audit, 20, "another group gets its own copy of every event");
    const labels = [...takenBy.values()];
    assert.equal(labels.length, 20);
    assert.ok(labels.every((by) => by.length === 1), "each event went to one member");
    assert.ok(labels.some(([by]) => by === "a") && labels.some(([by]) => by === "b"));
    const jsm = await jetstreamManager(transport.connection);
    const names = (await listConsumers(jsm)).map((info) => info.name).sort();
    assert.deepEqual(
      names,
      [
        await durableName("audit", "job.run.request"),
        await durableName("workers", "job.run.request"),
      ]
        .sort(),
    );
  },
);

natsTest(
  "open() unicast starts a new group at new events, or at the history with replay",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    await transport.publish({ name: "a.b", payload: "old" });
    const fresh = await transport.open({ name: "a.b", delivery: "unicast", group: "fresh" });
    const replayed = await transport.open({
      name: "a.b",
      delivery: "unicast",
      group: "replayed",
      replay: true,
    });
    await transport.publish({ name: "a.b", payload: "new" });
    assert.equal((await nextEvent(fresh)).payload, "new");
    assert.equal((await nextEvent(replayed)).payload, "old");
    await Promise.all([fresh.close(), replayed.close()]);
  },
);

natsTest(
  "settle() maps done to a confirmed ack, retry to nak(delay) and dead to term",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    const subscription = await transport.open({
      name: "a.b",
      delivery: "unicast",
      group: "g",
      concurrency: 4,
    });
    assert.equal(subscription.redelivers, true);
    assert.equal(subscription.workingInterval, 15_000, "half of the default ackWait");
    for (const payload of ["done", "retry", "dead"]) {
      await transport.publish({
        name: "a.b",
        payload,
      });
    }
    const first = [
      await nextEvent(subscription),
      await nextEvent(subscription),
      await nextEvent(subscription),
    ];
    const byPayload = new Map(first.map((event) => [event.payload, event]));
    const settledAt = performance.now();
    await subscription.settle(byPayload.get("done")!, { type: "done" });
    await subscription.settle(byPayload.get("retry")!, { type: "retry", delay: 300 });
    await subscription.settle(byPayload.get("dead")!, { type: "dead", reason: "cannot" });
    for (const event of first) {
      assert.equal(
        subscription.attempt(event),
        1,
        "settled events forget",
      );
    }

    const again = await nextEvent(subscription);
    assert.equal(again.payload, "retry", "only the retried event comes back");
    assert.equal(again.id, byPayload.get("retry")!.id);
    assert.equal(subscription.attempt(again), 2, "the attempt is JetStream's delivery count");
    assert.ok(performance.now() - settledAt >= 290, "not before the nak delay");
    await subscription.settle(again, { type: "done" });
    await subscription.settle(again, { type: "dead", reason: "twice" }); // ignored

    const info = await consumerInfo(transport, "g", "a.b");
    assert.equal(info.num_ack_pending, 0, "nothing is waiting for an ack");
    assert.equal(info.ack_floor.stream_seq, 3);
    const { acked, retried, terminated } = transport.stats;
    assert.deepEqual({ acked, retried, terminated }, { acked: 2, retried: 1, terminated: 1 });
    await subscription.close();
  },
);

natsTest(
  "settle() retry of the delivery that reaches maxDeliver terminates, counts and logs",
  async () => {
    await using records = await captureLogs("error", ["bus-integration", "nats"]);
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, maxDeliver: 3 });
    const subscription = await transport.open({ name: "a.b", delivery: "unicast", group: "g" });
    const { id } = await transport.publish({ name: "a.b" });
    const attempts: number[] = [];
    for (let delivery = 0; delivery < 3; delivery++) {
      const event = await nextEvent(subscription);
      assert.equal(event.id, id);
      attempts.push(subscription.attempt(event));
      await subscription.settle(event, { type: "retry", delay: 0 });
    }
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(transport.stats.exhausted, 1);
    assert.equal(transport.stats.terminated, 1);
    assert.equal(transport.stats.retried, 2);
    const info = await consumerInfo(transport, "g", "a.b");
    assert.equal(info.num_ack_pending, 0, "terminated, not left pending");
    const [record] = records;
    assert.equal(records.length, 1);
    assert.match(String(record!.message.join("")), /Terminating a\.b/);
    assert.deepEqual([record!.properties.deliveries, record!.properties.maxDeliver], [3, 3]);
    await subscription.close();
  },
);

natsTest(
  "open() unicast aligns an existing consumer's ackWait and maxDeliver with the options",
  async () => {
    await using server = await startNatsServer();
    {
      await using first = await connectNats({ servers: server.url });
      await (await first.open({ name: "a.b", delivery: "unicast", group: "g" })).close();
    }
    await using transport = await connectNats({ servers: server.url, ackWait: 700, maxDeliver: 2 });
    const subscription = await transport.open({ name: "a.b", delivery: "unicast", group: "g" });
    assert.equal(subscription.workingInterval, 350);
    const info = await consumerInfo(transport, "g", "a.b");
    assert.deepEqual([info.config.ack_wait, info.config.max_deliver], [700_000_000, 2]);
    await subscription.close();
  },
);

natsTest("an unsettled unicast event is redelivered to another member after ackWait", async () => {
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url, ackWait: 500 });
  const holder = await transport.open({ name: "a.b", delivery: "unicast", group: "g" });
  await transport.publish({ name: "a.b", payload: "held" });
  const held = await nextEvent(holder);
  const taken = performance.now();
  const other = await transport.open({ name: "a.b", delivery: "unicast", group: "g" });
  const redelivered = await nextEvent(other);
  assert.equal(redelivered.id, held.id);
  assert.equal(other.attempt(redelivered), 2);
  assert.ok(performance.now() - taken >= 450, "not before ackWait");
  await other.settle(redelivered, { type: "done" });
  await Promise.all([holder.close(), other.close()]);
});

natsTest(
  "close() leaves the events it fetched ahead to redelivery after ackWait, none lost or doubled",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ackWait: 1_000 });
    const first = await transport.open({
      name: "a.b",
      delivery: "unicast",
      group: "g",
      concurrency: 10,
    });
    for (let n = 0; n < 5; n++) await transport.publish({ name: "a.b", payload: n });
    const taken = await nextEvent(first);
    while ((await consumerInfo(transport, "g", "a.b")).num_ack_pending < 5) await delay(5);
    await first.close();
    await first.settle(taken, { type: "done" }); // a handler still settles after close
    const second = await transport.open({ name: "a.b", delivery: "unicast", group: "g" });
    const rest: Array<[unknown, number]> = [];
    while (rest.length < 4) {
      const event = await nextEvent(second);
      rest.push([event.payload, second.attempt(event)]);
      await second.settle(event, { type: "done" });
    }
    assert.deepEqual(
      rest.sort(([a], [b]) => Number(a) - Number(b)),
      [0, 1, 2, 3, 4].filter((n) => n !== taken.payload).map((n) => [n, 2]),
    );
    assert.equal((await consumerInfo(transport, "g", "a.b")).num_ack_pending, 0);
    await second.close();
  },
);

natsTest(
  "a unicast message that is not an envelope is reported, counted and terminated",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ackWait: 300 });
    const invalid: InvalidInput[] = [];
    const subscription = await transport.open({
      name: "a.b",
      delivery: "unicast",
      group: "g",
      onInvalid: (report) => invalid.push(report),
    });
    const js = jetstream(transport.connection);
    await js.publish("bus.events.a.b", "not json {");
    await js.publish("bus.events.a.b", "[1, 2]");
    await js.publish("bus.events.a.b", JSON.stringify({ name: "c.d" }));
    await transport.publish({ name: "a.b", payload: "valid" });
    const event = await nextEvent(subscription);
    assert.equal(event.payload, "valid");
    assert.equal(event.id, "4");
    await subscription.settle(event, { type: "done" });
    assert.deepEqual(invalid.map((report) => report.kind), [
      "invalid-json",
      "not-an-envelope",
      "not-an-envelope",
    ]);
    assert.equal(invalid[0]!.excerpt, "not json {");
    assert.match(invalid[2]!.reason, /"c\.d" is not its subject's \(a\.b\)/);
    assert.equal(transport.stats.invalid, 3);
    assert.equal(subscription.lastEventId, "4", "skipped messages count as settled");
    const info = await consumerInfo(transport, "g", "a.b");
    assert.deepEqual([info.num_ack_pending, info.num_redelivered, info.ack_floor.stream_seq], [
      0,
      0,
      4,
    ]);
    await subscription.close();
  },
);

natsTest("open() unicast rejects bad input with a clear error", async () => {
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url });
  await assert.rejects(
    transport.open({ name: "a.b", delivery: "unicast", group: "g", follow: false }),
    (error) => error instanceof TypeError && /follow: false needs broadcast/.test(error.message),
  );
  await assert.rejects(transport.open({ name: "a.>", delivery: "unicast" }), TypeError);
  const aborted = AbortSignal.abort(new Error("no"));
  await assert.rejects(
    transport.open({ name: "a.b", delivery: "unicast", signal: aborted }),
    /^Error: no$/,
  );
});
