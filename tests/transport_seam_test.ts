/**
 * The transport seam: `runWorker`, `Requester`, `listen` and `Host` run on
 * an in-memory transport written for the tests (no HTTP at all), and the
 * worker settles every event with the transport it came from.
 */
import assert from "node:assert/strict";
import {
  defineWorker,
  type EventEnvelope,
  HANDLER_FAILED,
  type HandlerMiddleware,
  Host,
  listen,
  ListenerReadiness,
  Requester,
  ResponseError,
  runWorker,
} from "../mod.ts";
import { MemoryTransport, unauthorized } from "./_memory_transport.ts";
import { until } from "./_poll.ts";

/** Starts an echo worker on `transport`; returns its stop function and result. */
function echoWorker(
  transport: MemoryTransport,
  extra: Partial<Parameters<typeof runWorker>[0]> = {},
) {
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const done = runWorker({
    transport,
    names: ["seam.echo.request"],
    delivery: "unicast",
    group: "echo",
    consumer: "echo-1",
    readiness,
    signal: controller.signal,
    handler: async (event, publisher) => {
      if ((event.payload as { fail?: boolean }).fail) throw new Error("asked to fail");
      await publisher.reply({ echoed: event.payload });
    },
    ...extra,
  });
  return { readiness, done, stop: () => controller.abort() };
}

Deno.test("runWorker() and Requester round-trip on an in-memory transport", async () => {
  const transport = new MemoryTransport();
  const worker = echoWorker(transport);
  await worker.readiness.waitReady();
  const requester = new Requester({ transport, responseNames: ["seam.echo.response"] });
  await requester.readiness.waitReady();

  assert.deepEqual(await requester.request("seam.echo.request", { text: "hi" }), {
    echoed: { text: "hi" },
  });
  await assert.rejects(
    requester.request("seam.echo.request", { fail: true }),
    (error) =>
      error instanceof ResponseError && error.code === HANDLER_FAILED &&
      error.message === "asked to fail" && error.source === "echo-1",
  );
  worker.stop();
  await worker.done;
  await requester.close();

  const requests = transport.settlements.filter((s) => s.name === "seam.echo.request");
  assert.deepEqual(requests.map((s) => s.settlement.type), ["done", "dead"]);
  assert.match(
    (requests[1]!.settlement as { reason: string }).reason,
    /Error: asked to fail/,
    "a failure that escaped the pipeline is settled dead with its description",
  );
  const opened = transport.opens.find((o) => o.name === "seam.echo.request");
  assert.equal(opened?.delivery, "unicast");
  assert.equal(opened?.group, "echo");
  assert.equal(transport.openCount, 0, "every subscription was closed");
});

Deno.test("runWorker() settles with what a middleware decided", async () => {
  const transport = new MemoryTransport();
  const order: string[] = [];
  const settleDead: HandlerMiddleware = async (_event, context, next) => {
    order.push("before");
    try {
      await next();
    } catch (error) {
      context.settlement = { type: "dead", reason: "by middleware" };
      throw error;
    } finally {
      order.push("after");
    }
  };
  const worker = echoWorker(transport, { middlewares: [settleDead] });
  await worker.readiness.waitReady();
  await transport.publish({
    name: "seam.echo.request",
    correlationId: "c1",
    payload: { fail: true },
  });
  await transport.publish({ name: "seam.echo.request", correlationId: "c2", payload: {} });
  const settled = () => transport.settlements.filter((s) => s.name === "seam.echo.request");
  await until(() => settled().length === 2);
  worker.stop();
  await worker.done;
  assert.deepEqual(settled().map((s) => s.settlement), [
    { type: "dead", reason: "by middleware" },
    { type: "done" },
  ]);
  assert.deepEqual(order, ["before", "after", "before", "after"]);
  const answer = transport.published.find((e) => e.correlationId === "c1" && e.error);
  assert.equal(answer?.error?.code, HANDLER_FAILED, "the error reply still went out");
});

Deno.test("listen() settles an event as done once onEvent resolves, unless it deferred", async () => {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const deferred: Array<() => Promise<void>> = [];
  const running = listen({
    transport,
    stream: { name: "seam.tick" },
    readiness,
    signal: controller.signal,
    onEvent: (event, context) => {
      if (event.payload === "later") {
        const settler = context.defer();
        deferred.push(() => settler.settle({ type: "dead", reason: "by test" }));
      }
    },
  });
  await readiness.waitReady();
  for (const payload of ["now", "later", "now"]) {
    await transport.publish({ name: "seam.tick", payload });
  }
  await until(() => transport.settlements.length === 2);
  assert.deepEqual(transport.settlements.map((s) => s.id), ["1", "3"]);
  await deferred[0]!();
  await deferred[0]!(); // a second settlement of the same event is ignored
  assert.deepEqual(transport.settlements.map((s) => [s.id, s.settlement.type]), [
    ["1", "done"],
    ["3", "done"],
    ["2", "dead"],
  ]);
  controller.abort();
  await running;
});

Deno.test("listen() fails fast on an AuthError when the transport cannot refresh credentials", async () => {
  const transport = new MemoryTransport();
  transport.failOpens.push(unauthorized());
  const controller = new AbortController();
  // No token provider: an AuthError is fatal even with token refresh on.
  await assert.rejects(
    listen({
      transport,
      stream: { name: "seam.tick" },
      tokenRefresh: true,
      signal: controller.signal,
      onEvent: () => {},
    }),
    (error) => error instanceof Error && error.name === "AuthError",
  );
  assert.equal(transport.opens.length, 1, "canRefreshCredentials false: no second attempt");
});

Deno.test("Host runs registrations on an in-memory transport and reports them", async () => {
  const transport = new MemoryTransport();
  const seen: EventEnvelope[] = [];
  const controller = new AbortController();
  const host = new Host({
    transport,
    signal: controller.signal,
    registrations: [
      defineWorker({
        name: "echo",
        names: ["seam.host.request"],
        delivery: "unicast",
        handler: (event, publisher) => publisher.reply(event.payload),
      }),
      defineWorker({
        name: "ticker",
        required: false,
        run: async ({ transport: shared, readiness, signal }) => {
          assert.equal(shared, transport, "run() gets the host's transport");
          readiness.set(true, "started");
          await new Promise((resolve) => signal.addEventListener("abort", resolve));
        },
      }),
      defineWorker({
        name: "audit",
        names: ["seam.host.tick"],
        handler: (event) => {
          seen.push(event);
        },
      }),
    ],
  });
  const running = host.run();
  await host.readiness.waitReady();
  await using requester = new Requester({ transport, responseNames: ["seam.host.response"] });
  assert.equal(await requester.request("seam.host.request", "ping"), "ping");
  await transport.publish({ name: "seam.host.tick", payload: 1 });
  await until(() => seen.length === 1, 5_000, "the audit registration's event");
  // The reply can arrive before the echo handler returned and was counted.
  const echoHandled = () => host.report().registrations.find((r) => r.name === "echo")?.handled;
  await until(() => echoHandled() === 1, 5_000, "the echo registration's count");
  const report = host.report();
  assert.equal(report.ready, true);
  assert.equal(report.registrations.find((r) => r.name === "echo")?.handled, 1);
  controller.abort();
  await running;
  assert.equal(host.status, "stopped");
  const echoOpen = transport.opens.find((o) => o.name === "seam.host.request");
  assert.equal(echoOpen?.group, "echo", "a unicast registration's group defaults to its name");
});

Deno.test("listen() reopens from the last settled event after the subscription ended", async () => {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const seen: string[] = [];
  const running = listen({
    transport,
    stream: { name: "seam.tick" },
    reconnect: { min: 1, max: 1 },
    readiness,
    signal: controller.signal,
    onEvent: (event) => {
      seen.push(event.id!);
    },
  });
  await readiness.waitReady();
  await transport.publish({ name: "seam.tick" });
  await transport.publish({ name: "seam.tick" });
  await until(() => transport.settlements.length === 2);
  await transport.endSubscriptions();
  await until(() => transport.opens.length === 2, 5_000, "the reopen");
  assert.equal(transport.opens[0]!.lastEventId, undefined);
  assert.equal(transport.opens[1]!.lastEventId, "2");
  controller.abort();
  await running;
  assert.deepEqual(seen, ["1", "2"]);
});
