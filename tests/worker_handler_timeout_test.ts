/**
 * runWorker()'s `handlerTimeout`: each attempt's signal aborts at the
 * bound, what the handler then throws fails the attempt as
 * `HandlerTimeoutError` (answered `handler_timeout`, retried, dead-lettered),
 * a handler that ignores its signal keeps its slot, and a reply stuck on a
 * server that never answers ends at the bound. Exact bounds under fake time
 * on an in-memory transport; the stuck reply over real loopback HTTP.
 */
import assert from "node:assert/strict";
import {
  type DeadLetterPayload,
  type EventEnvelope,
  EventsClient,
  HANDLER_TIMEOUT,
  HandlerTimeoutError,
  Host,
  NonRetryableError,
  runWorker,
  type WorkerOptions,
} from "../mod.ts";
import { fakeTime } from "./_fake_time.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { startWorker as startWorkerIn } from "./_worker_run.ts";
import { pushableBody, scriptedServer, untilReal } from "./_scripted_server.ts";

const NAME = "job.slow.request";
const RESPONSE = "job.slow.response";
const DEAD = `${NAME}.dead-letter`;
const BOUND = 5_000;

function startWorker(
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler">,
) {
  return startWorkerIn({
    names: [NAME],
    delivery: "unicast",
    group: "jobs",
    consumer: "jobs-1",
    handlerTimeout: BOUND,
    ...options,
  });
}

const byName = (transport: MemoryTransport, name: string) =>
  transport.published.filter((event) => event.name === name);

/** Resolves `ms` after it is called (fake time), or rejects with `signal.reason` when it aborts. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

Deno.test("an attempt that outlasts handlerTimeout has its signal aborted at exactly the bound, is answered handler_timeout and dead-lettered", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  let aborted: number | undefined;
  let middlewareSignal: AbortSignal | undefined;
  const worker = startWorker({
    transport,
    middlewares: [(_event, context, next) => (middlewareSignal = context.signal, next())],
    handler: async (_event, publisher) => {
      const started = Date.now();
      try {
        await work(60_000, publisher.signal);
      } finally {
        aborted = Date.now() - started;
      }
    },
  });
  await worker.readiness.waitReady();
  await transport.publish({ name: NAME, correlationId: "c1", payload: 1 });
  await time.clock.tickAsync(BOUND - 1);
  assert.equal(aborted, undefined, "still running within the bound");
  await time.clock.tickAsync(1);
  assert.equal(aborted, BOUND);
  assert.ok(middlewareSignal?.aborted, "the caller's middlewares get the attempt's signal too");
  assert.ok(middlewareSignal.reason instanceof HandlerTimeoutError);
  await worker.stop();

  const [response] = byName(transport, RESPONSE);
  assert.deepEqual(response?.error, {
    code: HANDLER_TIMEOUT,
    message: `The handler did not finish within ${BOUND} ms`,
  });
  const [dead] = byName(transport, DEAD);
  const letter = dead?.payload as DeadLetterPayload;
  assert.equal(letter.error.name, "HandlerTimeoutError");
  assert.equal(letter.error.code, HANDLER_TIMEOUT);
  assert.equal(letter.attempts, 1);
  assert.equal(worker.stats.failed, 1);
});

Deno.test("a timed-out attempt is retried per the policy, each attempt with a fresh bound", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const runs: number[] = [];
  const worker = startWorker({
    transport,
    retry: { attempts: 3, delay: 1_000 },
    handler: async (_event, publisher) => {
      runs.push(Date.now());
      // Too slow twice, then quick enough.
      await work(runs.length < 3 ? 60_000 : BOUND - 1, publisher.signal);
      await publisher.reply({ ok: runs.length });
    },
  });
  await worker.readiness.waitReady();
  const start = Date.now();
  await transport.publish({ name: NAME, correlationId: "c2", payload: 2 });
  await time.clock.tickAsync(3 * BOUND + 3_000);
  await worker.stop();
  // Bound, wait 1 s, bound, wait 2 s, then the third attempt.
  assert.deepEqual(runs.map((at) => at - start), [0, BOUND + 1_000, 2 * BOUND + 3_000]);
  assert.deepEqual(byName(transport, RESPONSE).map((r) => [r.payload, r.error]), [
    [{ ok: 3 }, undefined],
  ]);
  assert.equal(byName(transport, DEAD).length, 0);
  assert.equal(worker.stats.retried, 2);
});

Deno.test("a handler that ignores its signal keeps its slot; one that then returns succeeded", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const started: number[] = [];
  const worker = startWorker({
    transport,
    concurrency: 1,
    handler: async (_event, publisher) => {
      started.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 8_000)); // deaf to its signal
      assert.ok(publisher.signal.aborted, "the signal did abort at the bound");
    },
  });
  await worker.readiness.waitReady();
  const start = Date.now();
  await transport.publish({ name: NAME, correlationId: "a", payload: "a" });
  await transport.publish({ name: NAME, correlationId: "b", payload: "b" });
  await time.clock.tickAsync(16_000);
  await worker.stop();
  assert.deepEqual(started.map((at) => at - start), [0, 8_000], "b waited for a's slot");
  assert.equal(worker.stats.handled, 2);
  assert.equal(worker.stats.failed, 0);
  assert.equal(byName(transport, RESPONSE).length, 0, "no error response for a late success");
});

Deno.test("what a handler throws after the bound is a HandlerTimeoutError with it as the cause; a NonRetryableError stays one", async () => {
  for (
    const thrown of [
      new Error("late failure"),
      new NonRetryableError("bad input", { code: "invalid" }),
    ]
  ) {
    using time = fakeTime();
    const transport = new MemoryTransport();
    let runs = 0;
    const worker = startWorker({
      transport,
      retry: { attempts: 3, delay: 0 },
      handler: async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 8_000));
        throw thrown;
      },
    });
    await worker.readiness.waitReady();
    await transport.publish({ name: NAME, correlationId: "c3", payload: 3 });
    await time.clock.tickAsync(30_000);
    await worker.stop();
    const letter = byName(transport, DEAD)[0]?.payload as DeadLetterPayload;
    if (thrown instanceof NonRetryableError) {
      assert.equal(runs, 1, "never retried");
      assert.equal(letter.error.name, "NonRetryableError");
      assert.equal(byName(transport, RESPONSE)[0]?.error?.code, "invalid");
    } else {
      assert.equal(runs, 3);
      assert.equal(letter.error.name, "HandlerTimeoutError");
      assert.equal(byName(transport, RESPONSE)[0]?.error?.code, HANDLER_TIMEOUT);
    }
  }
});

Deno.test("HandlerTimeoutError keeps what the handler threw as its cause", () => {
  const cause = new Error("late");
  const error = new HandlerTimeoutError(250, { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.timeout, 250);
  assert.equal(error.code, HANDLER_TIMEOUT);
  assert.equal(error.name, "HandlerTimeoutError");
});

Deno.test("a reply stuck on an Events API that never answers ends at the bound over real HTTP", async () => {
  const request: EventEnvelope = { id: "e1", name: NAME, correlationId: "c4", payload: 4 };
  const posted: EventEnvelope[] = [];
  let stuck: ReturnType<typeof pushableBody> | undefined;
  await using server = scriptedServer(async (_n, incoming) => {
    if (incoming.method === "GET") {
      const body = pushableBody(server.stopping);
      if (new URL(incoming.url).searchParams.get("name") === NAME) {
        body.push(`id: e1\ndata: ${JSON.stringify(request)}\n\n`);
      }
      return new Response(body.body, { headers: { "content-type": "text/event-stream" } });
    }
    const event = await incoming.json() as EventEnvelope;
    posted.push(event);
    if (event.name === RESPONSE && event.error === undefined) {
      // The reply: accepted on the wire, never answered.
      stuck = pushableBody(server.stopping);
      return new Promise<Response>(() => {});
    }
    return Response.json({ id: `p${posted.length}`, name: event.name }, { status: 202 });
  });
  using time = fakeTime();
  const controller = new AbortController();
  const running = runWorker({
    transport: new EventsClient({ baseUrl: server.url }),
    names: [NAME],
    handlerTimeout: BOUND,
    signal: controller.signal,
    handler: (event, publisher) => publisher.reply({ echo: event.payload }).then(() => {}),
  });
  try {
    await untilReal(() => posted.length === 1, "the reply to be posted");
    assert.ok(stuck !== undefined);
    await untilReal(() => time.clock.countTimers() >= 1, "the bound to be armed");
    await time.clock.tickAsync(BOUND);
    await untilReal(() => posted.length === 3, "the error response and the dead letter");
    assert.deepEqual(posted.map((event) => [event.name, event.error?.code]), [
      [RESPONSE, undefined],
      // The dead letter goes out before the error response (it sits inside it).
      [DEAD, undefined],
      [RESPONSE, HANDLER_TIMEOUT],
    ]);
  } finally {
    controller.abort();
    await time.clock.tickAsync(0);
    await running;
  }
});

Deno.test("handlerTimeout must be a whole number of ms from 1 to 2^31 − 1, in runWorker, Host and registrations", async () => {
  const transport = new MemoryTransport();
  const bad = [0, -5, 1.5, Number.NaN, Infinity, 2 ** 31, "100"];
  for (const handlerTimeout of bad) {
    await assert.rejects(
      runWorker({ transport, names: [NAME], handler: () => {}, handlerTimeout } as WorkerOptions),
      (error: unknown) =>
        error instanceof RangeError &&
        /^Cannot run worker: handlerTimeout is .*, expected a whole number of ms from 1 to 2147483647$/
          .test(error.message),
      String(handlerTimeout),
    );
    assert.throws(
      () =>
        new Host({
          transport,
          registrations: [{ name: "fine", names: [NAME], handler: () => {} }],
          handlerTimeout: handlerTimeout as number,
        }),
      /^RangeError: Cannot create host: handlerTimeout is /,
    );
    assert.throws(
      () =>
        new Host({
          transport,
          registrations: [{
            name: "slow",
            names: [NAME],
            handler: () => {},
            handlerTimeout: handlerTimeout as number,
          }],
        }),
      /^RangeError: Cannot use registration 0 "slow": handlerTimeout is /,
    );
  }
});

Deno.test("a Host's handlerTimeout bounds its registrations; a registration's own replaces it", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const aborted: Record<string, number> = {};
  const slow =
    (label: string) => async (_event: EventEnvelope, publisher: { signal: AbortSignal }) => {
      const started = Date.now();
      await work(60_000, publisher.signal).catch((error) => {
        aborted[label] = Date.now() - started;
        throw error;
      });
    };
  const controller = new AbortController();
  const host = new Host({
    transport,
    handlerTimeout: 2_000,
    signal: controller.signal,
    registrations: [
      { name: "inherits", names: ["job.a.request"], handler: slow("inherits") },
      { name: "own", names: ["job.b.request"], handler: slow("own"), handlerTimeout: 3_000 },
    ],
  });
  const running = host.run();
  await host.readiness.waitReady();
  await transport.publish({ name: "job.a.request" });
  await transport.publish({ name: "job.b.request" });
  await time.clock.tickAsync(10_000);
  controller.abort();
  await time.clock.tickAsync(0);
  await running;
  assert.deepEqual(aborted, { inherits: 2_000, own: 3_000 });
});
