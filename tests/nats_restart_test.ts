/**
 * Restarting nats-server (same port, same store) while unicast workers and a
 * requester run: they reconnect, every readiness flips false then true,
 * requests published after the restart are all answered, and no event whose
 * ack the server confirmed is delivered again, but for what nats-server
 * 2.9.10 sometimes forgets over a restart (see the test).
 */
import assert from "node:assert/strict";
import {
  type EventSubscription,
  type EventTransport,
  ListenerReadiness,
  Requester,
  runWorker,
  type StreamOptions,
} from "../mod.ts";
import { connectNats, type NatsTransport } from "../nats.ts";
import { until } from "./_poll.ts";
import { natsTest, startNatsServer } from "./_nats_server.ts";

/** Every delivery and every confirmed ack of one worker's transport, by event id, in time order. */
interface Ledger {
  deliveries: Array<{ id: string; at: number }>;
  confirmed: Map<string, number>;
}

/**
 * Passes everything to `inner`, and records when each event was delivered
 * and when its first `done` settlement was confirmed by the server (the transport
 * counted an ack: with one handler at a time, the count tells which).
 */
function recording(inner: NatsTransport, ledger: Ledger): EventTransport {
  return {
    canRefreshCredentials: false,
    publish: (event, options) => inner.publish(event, options),
    close: () => inner.close(),
    async open(options: StreamOptions): Promise<EventSubscription> {
      const subscription = await inner.open(options);
      const recorded: EventSubscription = {
        get lastEventId() {
          return subscription.lastEventId;
        },
        get reconnectHint() {
          return subscription.reconnectHint;
        },
        redelivers: subscription.redelivers,
        workingInterval: subscription.workingInterval,
        attempt: (event) => subscription.attempt(event),
        working: (event) => subscription.working(event),
        close: () => subscription.close(),
        return: () => subscription.close().then(() => ({ done: true, value: undefined })),
        async next() {
          const result = await subscription.next();
          if (!result.done) ledger.deliveries.push({ id: result.value.id!, at: performance.now() });
          return result;
        },
        async settle(event, settlement) {
          const before = inner.stats.acked;
          await subscription.settle(event, settlement);
          // The first confirmation: a redelivered event is acked again later.
          if (inner.stats.acked > before && !ledger.confirmed.has(event.id!)) {
            ledger.confirmed.set(event.id!, performance.now());
          }
        },
        [Symbol.asyncIterator]() {
          return recorded;
        },
      };
      return recorded;
    },
  };
}

natsTest(
  "a nats-server restart: workers and requester reconnect, all later requests answered, nothing acked redelivered",
  async () => {
    await using server = await startNatsServer();
    const reconnect = { min: 50, max: 300 };
    const stop = new AbortController();
    const ledgers: Ledger[] = [];
    const flips: Array<{ who: string; ready: boolean }> = [];
    const watch = (who: string) => {
      const readiness = new ListenerReadiness();
      readiness.addEventListener("change", (event) => flips.push({ who, ready: event.ready }));
      return readiness;
    };
    const transports: NatsTransport[] = [];
    const workers = await Promise.all(["w1", "w2"].map(async (who) => {
      const transport = await connectNats({ servers: server.url });
      transports.push(transport);
      const ledger: Ledger = { deliveries: [], confirmed: new Map() };
      ledgers.push(ledger);
      const readiness = watch(who);
      const running = runWorker({
        transport: recording(transport, ledger),
        names: ["svc.echo.request"],
        delivery: "unicast",
        group: "svc",
        concurrency: 1,
        reconnect,
        readiness,
        signal: stop.signal,
        handler: (event, publisher) => publisher.reply({ echo: event.payload }).then(() => {}),
      });
      return { readiness, running };
    }));
    const requesterTransport = await connectNats({ servers: server.url });
    transports.push(requesterTransport);
    const requester = new Requester({
      transport: requesterTransport,
      responseNames: ["svc.echo.response"],
      timeout: 5_000,
      reconnect,
      readiness: watch("requester"),
    });
    let stoppingAt = Infinity;
    let restartedAt = Infinity;
    const allReady = () => workers.every((w) => w.readiness.ready) && requester.readiness.ready;
    const send = (count: number, from: number) =>
      Promise.allSettled(
        Array.from({ length: count }, (_, n) =>
          requester.request("svc.echo.request", { n: from + n })),
      );
    try {
      await until(allReady, 10_000, "workers and requester");
      const before = await send(100, 0);
      assert.ok(before.every((result) => result.status === "fulfilled"));

      // Requests keep coming while the server goes away and comes back.
      const during = send(100, 100);
      stoppingAt = performance.now();
      await server.restart();
      restartedAt = performance.now();
      await during; // some may fail or time out: the server was gone
      await until(
        () => flips.filter((flip) => !flip.ready).length >= 3 && allReady(),
        20_000,
        "every listener not ready, then ready again",
      );
      const after = await send(200, 1_000);
      const failed = after.filter((result) => result.status === "rejected");
      assert.deepEqual(failed, [], "every request after the restart is answered");
      assert.deepEqual(
        after.map((result) => (result as PromiseFulfilledResult<unknown>).value),
        Array.from({ length: 200 }, (_, n) => ({ echo: { n: 1_000 + n } })),
      );
    } finally {
      await requester.close();
      stop.abort();
      await Promise.all(workers.map((worker) => worker.running));
      await Promise.all(transports.map((transport) => transport.close()));
    }
    for (const who of ["w1", "w2", "requester"]) {
      const own = flips.filter((flip) => flip.who === who).map((flip) => flip.ready);
      assert.deepEqual(own.slice(0, 3), [true, false, true], `${who} flipped ${own}`);
    }
    const confirmed = new Map<string, number>();
    for (const ledger of ledgers) {
      for (const [id, at] of ledger.confirmed) {
        confirmed.set(id, Math.min(at, confirmed.get(id) ?? at));
      }
    }
    const deliveries = ledgers.flatMap((ledger) => ledger.deliveries);
    const redeliveredAfterAck = deliveries.filter(({ id, at }) =>
      confirmed.has(id) && at > confirmed.get(id)!
    );
    // nats-server 2.9.10 sometimes (12 restarts in 105) comes back from a
    // clean shutdown with the durable consumer's progress forgotten and
    // delivers nearly every event of the run again, each with delivery
    // count 1: at least once, the server's. Any other redelivery of an
    // acked event is a failure: one before the server went down, or of an
    // event first acked once it was back.
    const unexplained = redeliveredAfterAck.filter(({ id, at }) =>
      at < stoppingAt || confirmed.get(id)! >= restartedAt
    );
    assert.deepEqual(unexplained, [], "no event is delivered again after its ack was confirmed");
    assert.ok(confirmed.size >= 300, `${confirmed.size} acks confirmed`);
  },
);
