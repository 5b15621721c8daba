/**
 * defineWorker() shape checks and runRegistration() on its own, against the
 * reference server.
 */
import assert from "node:assert/strict";
import {
  defineWorker,
  type EventEnvelope,
  ListenerReadiness,
  Requester,
  runRegistration,
  type WorkerContext,
  type WorkerRegistration,
  WorkerStats,
} from "../mod.ts";
import echo from "../examples/echo_worker.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";

const handler = () => {};

Deno.test("defineWorker() returns the registration it was given", () => {
  const registration = { name: "echo", names: ["example.echo.request"], handler };
  assert.equal(defineWorker(registration), registration);
  const run = { name: "loop", run: () => {} };
  assert.equal(defineWorker(run), run);
});

Deno.test("defineWorker() rejects malformed registrations with a message naming the problem", () => {
  const cases: Array<[unknown, RegExp, ErrorConstructor]> = [
    [null, /expected an object, got null/, TypeError],
    [{ names: ["a.b"], handler }, /name is undefined/, TypeError],
    [{ name: "has space", names: ["a.b"], handler }, /name is "has space"/, TypeError],
    [{ name: "x" }, /"x": expected a handler or a run function/, TypeError],
    [{ name: "x", names: ["a.b"], handler, run: () => {} }, /handler or run, not both/, TypeError],
    [{ name: "x", run: "go" }, /run is not a function/, TypeError],
    [{ name: "x", names: [], handler }, /names must be a non-empty array/, TypeError],
    [{ name: "x", names: ["a.*"], handler }, /event name "a\.\*": wildcards/, TypeError],
    [
      { name: "x", names: ["a.b"], handler, delivery: "anycast" },
      /delivery is "anycast"/,
      TypeError,
    ],
    [{ name: "x", names: ["a.b"], handler, group: 5 }, /group is not a string/, TypeError],
    [{ name: "x", names: ["a.b"], handler, required: "yes" }, /required is "yes"/, TypeError],
    [{ name: "x", names: ["a.b"], handler, concurrency: 0 }, /concurrency is 0/, RangeError],
    [{ name: "x", run: () => {}, drainTimeout: -1 }, /drainTimeout is -1/, RangeError],
  ];
  for (const [registration, message, type] of cases) {
    assert.throws(
      () => defineWorker(registration as WorkerRegistration),
      (error) => error instanceof type && message.test((error as Error).message),
      `expected ${type.name} ${message} for ${JSON.stringify(registration)}`,
    );
  }
});

Deno.test("defineWorker() infers the handler's and run()'s parameter types", () => {
  // Type-checked only: under strict, untyped parameters must be inferred.
  const listener = defineWorker({
    name: "typed",
    names: ["a.b"],
    handler: async (event, publisher) => {
      const name: string = event.name;
      await publisher.reply({ name });
    },
  });
  const runner = defineWorker({
    name: "typed-run",
    run: (context) => {
      const ctx: WorkerContext = context;
      ctx.logger.info("started {name}", { name: "typed-run" });
    },
  });
  assert.equal(typeof listener.handler, "function");
  assert.equal(typeof runner.run, "function");
});

Deno.test("runRegistration() runs the echo example on its own", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const stats = new WorkerStats();
  const running = runRegistration(echo, {
    transport: server.client,
    signal: controller.signal,
    readiness,
    stats,
    reconnect: { min: 10, max: 50 },
  });
  const requester = new Requester({
    transport: server.client,
    responseNames: ["example.echo.response"],
    timeout: 5_000,
  });
  try {
    await readiness.waitReady();
    assert.deepEqual(await requester.request("example.echo.request", { hi: 1 }), {
      echo: { hi: 1 },
    });
    // The reply can arrive before the handler has returned and been counted.
    await until(() => stats.handled === 1, 5_000, "handled counted");
  } finally {
    await requester.close();
    controller.abort();
    await running;
  }
  assert.equal(readiness.ready, false);
});

Deno.test("runRegistration() gives a run() registration its context and marks it stopped", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  let seen: WorkerContext | undefined;
  const running = runRegistration(
    defineWorker({
      name: "ctx",
      run: async (context) => {
        seen = context;
        context.readiness.set(true, "looping");
        await new Promise((resolve) =>
          context.signal.addEventListener("abort", resolve, { once: true })
        );
      },
    }),
    { transport: server.client, signal: controller.signal, readiness },
  );
  await readiness.waitReady();
  assert.equal(seen?.transport, server.client);
  assert.deepEqual(seen?.logger.category, ["bus-integration", "host", "ctx"]);
  assert.equal(seen?.signal.aborted, false);
  controller.abort();
  await running;
  assert.equal(readiness.ready, false);
  assert.equal(readiness.reason, "stopped");
});

Deno.test("runRegistration() rejects with a run() registration's error and records it", async () => {
  await using server = await startServer();
  const stats = new WorkerStats();
  const readiness = new ListenerReadiness();
  const failure = new Error("cannot reach the hypervisor");
  await assert.rejects(
    runRegistration(
      defineWorker({
        name: "boom",
        run: () => {
          readiness.set(true, "briefly");
          throw failure;
        },
      }),
      { transport: server.client, stats, readiness },
    ),
    (error) => error === failure,
  );
  assert.equal(stats.lastError, "Error: cannot reach the hypervisor");
  assert.equal(readiness.reason, "failed");
});

Deno.test("runRegistration() defaults a unicast registration's group and source to its name", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const running = runRegistration(
    defineWorker({
      name: "grouped",
      names: ["tests.grouped.request"],
      delivery: "unicast",
      handler: (event, publisher) => publisher.reply({ got: event.payload }),
    }),
    { transport: server.client, signal: controller.signal, readiness },
  );
  const responses: EventEnvelope[] = [];
  const stream = await server.client.open({
    name: "tests.grouped.response",
    signal: controller.signal,
  });
  const reading = (async () => {
    try {
      for await (const event of stream) responses.push(event);
    } catch {
      // aborted at the end of the test
    }
  })();
  await readiness.waitReady();
  await server.client.publish({ name: "tests.grouped.request", correlationId: "c1", payload: 1 });
  await until(() => responses.length === 1, 5_000, "the response");
  controller.abort();
  await running;
  await reading;
  assert.equal(responses[0]?.source, "grouped");
  assert.deepEqual(responses[0]?.payload, { got: 1 });
});
