/**
 * The worker, the requester and the response listener on NatsTransport:
 * `working()` while a handler outlasts half of `ackWait` (its timer under
 * fake time, then a handler of 3 × `ackWait` against a real server),
 * attempts from JetStream's delivery count through the retry policy,
 * `maxDeliver`, dead letters, and request/reply, `gather()` and
 * `listenResponses()` unchanged.
 */
import assert from "node:assert/strict";
import {
  delay,
  type EventEnvelope,
  type EventSubscription,
  type EventTransport,
  type HandlerMiddleware,
  listenResponses,
  Requester,
  ResponseError,
  runWorker,
  type Settlement,
  type StreamOptions,
  type WorkerOptions,
} from "../mod.ts";
import { connectNats, type NatsTransport } from "../nats.ts";
import { fakeTime, settle } from "./_fake_time.ts";
import { until } from "./_poll.ts";
import { startWorker as startWorkerIn } from "./_worker_run.ts";
import { natsTest, nextEvent, startNatsServer } from "./_nats_server.ts";

/** A transport whose one subscription hands out one event and records working() calls. */
class OneEventTransport implements EventTransport {
  readonly canRefreshCredentials = false;
  working = 0;
  settled: Settlement[] = [];
  constructor(readonly redelivers: boolean, readonly workingInterval: number | undefined) {}
  publish() {
    return Promise.resolve({ id: "1", name: "x" });
  }
  open(options: StreamOptions): Promise<EventSubscription> {
    const settled = this.settled;
    const countWorking = () => void this.working++;
    let handedOut = false;
    const subscription: EventSubscription = {
      lastEventId: undefined,
      reconnectHint: undefined,
      redelivers: this.redelivers,
      workingInterval: this.workingInterval,
      attempt: () => 1,
      settle: (_event, settlement) => {
        settled.push(settlement);
        return Promise.resolve();
      },
      working: () => {
        countWorking();
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
      next: () => {
        if (!handedOut) {
          handedOut = true;
          return Promise.resolve({ done: false, value: { name: options.name, id: "1" } });
        }
        // Then nothing more until the worker stops.
        return new Promise((_, reject) =>
          options.signal?.addEventListener("abort", () => reject(options.signal?.reason), {
            once: true,
          })
        );
      },
      return: () => Promise.resolve({ done: true, value: undefined }),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return Promise.resolve(subscription);
  }
  close() {
    return Promise.resolve();
  }
}

async function workingCalls(redelivers: boolean, interval: number | undefined) {
  using time = fakeTime();
  const transport = new OneEventTransport(redelivers, interval);
  let finish!: () => void;
  const stop = new AbortController();
  const worker = runWorker({
    transport,
    names: ["job.run"],
    signal: stop.signal,
    handler: () => new Promise<void>((resolve) => finish = resolve),
  });
  await settle(time.clock);
  await time.clock.tickAsync(3_500);
  const whileRunning = transport.working;
  finish();
  await settle(time.clock);
  await time.clock.tickAsync(5_000);
  const afterwards = transport.working;
  stop.abort();
  await worker;
  return { whileRunning, afterwards, settled: transport.settled };
}

Deno.test("runWorker() calls working() every workingInterval while a handler runs, where events are redelivered", async () => {
  assert.deepEqual(await workingCalls(true, 1_000), {
    whileRunning: 3,
    afterwards: 3,
    settled: [{ type: "done" }],
  });
});

Deno.test("runWorker() never calls working() where the subscription does not redeliver or has no interval", async () => {
  assert.equal((await workingCalls(false, 1_000)).whileRunning, 0);
  assert.equal((await workingCalls(true, undefined)).whileRunning, 0);
});

/** A middleware that tells `record` the attempt of each event it passes on. */
function recordAttempts(record: (attempt: number) => void): HandlerMiddleware {
  return async (_event, context, next) => {
    record(context.attempt);
    await next();
  };
}

/**
 * Starts a worker of group `jobs` on `transport` (`_worker_run.ts`); resolves
 * once it is ready. Held with `await using`, it is stopped before the
 * transport and server declared above it close, also when an assertion
 * fails first: a loop left running into a closed transport would fail the
 * file's other tests too.
 */
async function startWorker(
  transport: NatsTransport,
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "handler">,
) {
  const worker = startWorkerIn({
    transport,
    names: ["job.run.request"],
    delivery: "unicast",
    group: "jobs",
    reconnect: { min: 20, max: 200 },
    ...options,
  });
  await worker.readiness.waitReady(AbortSignal.timeout(10_000));
  return worker;
}

natsTest(
  "runWorker() on NATS keeps an event a handler works on for 3 × ackWait from being redelivered",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, ackWait: 1_000 });
    const deliveries: Array<{ worker: string; attempt: number }> = [];
    const record = (worker: string) => ({
      middlewares: [recordAttempts((attempt) => deliveries.push({ worker, attempt }))],
    });
    await using slow = await startWorker(transport, {
      ...record("slow"),
      handler: () => delay(3_000),
    });
    await transport.publish({ name: "job.run.request" });
    await until(() => deliveries.length === 1, 5_000, "the first delivery");
    await using idle = await startWorker(transport, { ...record("idle"), handler: () => {} });
    await until(() => slow.stats.handled === 1, 10_000, "the slow handler");
    await delay(1_200); // past one more ackWait: a redelivery would have arrived
    await idle.stop();
    await slow.stop();
    assert.deepEqual(deliveries, [{ worker: "slow", attempt: 1 }]);
    assert.equal(transport.stats.acked, 1);
  },
);

natsTest(
  "runWorker() on NATS retries through nak(delay) with attempts from the delivery count",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    const attempts: number[] = [];
    await using worker = await startWorker(transport, {
      retry: { attempts: 3, delay: 50, backoff: "fixed" },
      middlewares: [recordAttempts((attempt) => attempts.push(attempt))],
      handler: () => {
        if (attempts.length < 3) throw new Error("not yet");
      },
    });
    await transport.publish({ name: "job.run.request" });
    await until(() => worker.stats.handled === 1, 10_000, "the third attempt");
    await worker.stop();
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual([transport.stats.retried, transport.stats.acked], [2, 1]);
  },
);

natsTest(
  "runWorker() on NATS dead-letters an event whose retries are used up within maxDeliver",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, maxDeliver: 5 });
    const letters = await transport.open({ name: "job.run.request.dead-letter" });
    await using worker = await startWorker(transport, {
      retry: { attempts: 2, delay: 10 },
      handler: () => {
        throw new Error("broken");
      },
    });
    const { id } = await transport.publish({ name: "job.run.request", payload: "p" });
    const letter = await nextEvent(letters);
    await worker.stop();
    await letters.close();
    const payload = letter.payload as { envelope: EventEnvelope; attempts: number };
    assert.deepEqual([payload.envelope.id, payload.envelope.payload, payload.attempts], [
      id,
      "p",
      2,
    ]);
    assert.deepEqual([transport.stats.retried, transport.stats.terminated], [1, 1]);
  },
);

natsTest(
  "runWorker() on NATS terminates an event at maxDeliver when its retry policy allows more",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url, maxDeliver: 2 });
    const attempts: number[] = [];
    await using worker = await startWorker(transport, {
      retry: { attempts: 10, delay: 10 },
      middlewares: [recordAttempts((attempt) => attempts.push(attempt))],
      handler: () => {
        throw new Error("broken");
      },
    });
    await transport.publish({ name: "job.run.request" });
    await until(() => transport.stats.exhausted === 1, 10_000, "the term at maxDeliver");
    await worker.stop();
    assert.deepEqual(attempts, [1, 2]);
    assert.deepEqual([transport.stats.retried, transport.stats.terminated], [1, 1]);
  },
);

natsTest("Requester.request(), gather() and listenResponses() work unchanged on NATS", async () => {
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url });
  await using echo = await startWorker(transport, {
    handler: async (event, publisher) => {
      if ((event.payload as { fail?: boolean }).fail) {
        throw new ResponseError({ code: "nope", message: "refused" });
      }
      await publisher.reply({ echo: event.payload });
    },
  });
  const voters = await Promise.all(["alpha", "beta"].map((source) =>
    startWorker(transport, {
      names: ["vote.request"],
      delivery: "broadcast",
      source,
      handler: (_event, publisher) => publisher.reply({ vote: source }).then(() => {}),
    })
  ));
  const seen: EventEnvelope[] = [];
  const stopListening = new AbortController();
  const listening = listenResponses({
    transport,
    names: ["job.run.response"],
    onResponse: (event) => void seen.push(event),
    signal: stopListening.signal,
  });
  const requester = new Requester({
    transport,
    responseNames: ["job.run.response", "vote.response"],
    timeout: 10_000,
  });
  try {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, n) => requester.request("job.run.request", { n })),
    );
    assert.deepEqual(answers, Array.from({ length: 50 }, (_, n) => ({ echo: { n } })));
    await assert.rejects(
      requester.request("job.run.request", { fail: true }),
      (error) => error instanceof ResponseError && error.code === "nope",
    );
    const gathered = await requester.gather("vote.request", {}, {
      expectedResponders: ["alpha", "beta"],
    });
    assert.deepEqual(
      gathered.responses.map((r) => r.payload).sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b))
      ),
      [{ vote: "alpha" }, { vote: "beta" }],
    );
    await until(() => seen.length === 51, 10_000, "every response at the response listener");
    // The 50 requests and the gather; the refused one failed.
    assert.deepEqual([requester.stats.answered, requester.stats.failed], [51, 1]);
  } finally {
    await requester.close();
    stopListening.abort();
    await listening;
    await Promise.all([echo.stop(), ...voters.map((voter) => voter.stop())]);
  }
});
