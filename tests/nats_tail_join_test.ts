/**
 * `LiveTail.join()` (`src/nats/live_tail.ts`) when many listeners join at
 * once, as a host's do: they wait for the starting tail together (one
 * promise, no async frame each), every one of them gets the events after
 * it, and when the tail cannot start every one of them fails with its
 * error and the next open starts a new tail. Against a real `nats-server`.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { type EventSubscription, TransientError } from "../mod.ts";
import { connectNats } from "../nats.ts";
import { natsTest, nextEvent, startNatsServer } from "./_nats_server.ts";
import { consumersBecome } from "./_nats_stream_state.ts";

/** Every listener on the tail at once (no consumers of their own first). */
const SHARED = { shareListenersAfter: 0 };

natsTest(
  "LiveTail.join() starts one tail for listeners that open at once and each gets its later events",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    const names = Array.from({ length: 20 }, (_, i) => `join.l${i % 10}`);
    const subscriptions: EventSubscription[] = await Promise.all(
      names.map((name) => transport.open({ name })),
    );
    await consumersBecome(await jetstreamManager(transport.connection), ["bus.events.>"]);
    for (let i = 0; i < 10; i++) await transport.publish({ name: `join.l${i}`, payload: i });
    for (const [index, subscription] of subscriptions.entries()) {
      const event = await nextEvent(subscription);
      assert.equal(event.name, names[index], `listener ${index}`);
      assert.equal(event.payload, index % 10);
    }
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
  },
);

natsTest(
  "LiveTail.join() fails every listener that joined a tail that cannot start, and the next open starts a new one",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ...SHARED });
    // Down for certain once a listener on the running tail has seen it.
    const first = await transport.open({ name: "join.down" });
    const lost = assert.rejects(first.next(), TransientError);
    await server.kill();
    await lost;
    const opens = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => transport.open({ name: `join.down${i}` })),
    );
    for (const outcome of opens) {
      assert.equal(outcome.status, "rejected");
      assert.ok(outcome.reason instanceof TransientError, String(outcome.reason));
    }
    await server.start();
    let reopened: EventSubscription | undefined;
    for (let tries = 0; reopened === undefined; tries++) {
      try {
        reopened = await transport.open({ name: "join.down0" });
      } catch (error) {
        // Still reconnecting: the tail's start fails the same way again.
        if (!(error instanceof TransientError) || tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await transport.publish({ name: "join.down0", payload: "back" });
    assert.equal((await nextEvent(reopened)).payload, "back");
    await reopened.close();
  },
);
