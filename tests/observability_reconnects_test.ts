/**
 * `bus_listener_reconnects_total` over a real Host on the loopback
 * reference server: a ready registration's end (its `run()` threw or
 * returned) is no reconnect; a stream the server dropped is one.
 */
import assert from "node:assert/strict";
import { defineWorker, Host } from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";

/** The value of `bus_listener_reconnects_total` for `registration` in the host's `/metrics`. */
async function reconnects(host: Host, registration: string): Promise<number> {
  const text = await host.fetch(new Request("http://host.test/metrics")).text();
  const line = text.split("\n").find((candidate) =>
    candidate.startsWith(`bus_listener_reconnects_total{registration="${registration}"} `)
  );
  assert.ok(line !== undefined, `no reconnects sample for ${registration} in:\n${text}`);
  return Number(line.split(" ").at(-1));
}

/** A `run()` registration that keeps the host running until its signal aborts. */
const keeper = defineWorker({
  name: "keeper",
  required: false,
  run: ({ signal }) =>
    new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve(), { once: true })
    ),
});

Deno.test("Host counts no reconnect when a ready run() registration fails fatally", async () => {
  await using server = await startServer();
  const host = new Host({
    transport: server.client,
    registrations: [
      defineWorker({
        name: "boom",
        run: async ({ readiness }) => {
          readiness.set(true, "up");
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error("fatal");
        },
      }),
      keeper,
    ],
  });
  await assert.rejects(host.run());
  assert.equal(host.report().registrations[0]!.state, "failed");
  assert.equal(await reconnects(host, "boom"), 0, "it failed; it did not reconnect");
});

Deno.test("Host counts no reconnect when a ready run() registration returns by itself", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const host = new Host({
    transport: server.client,
    signal: controller.signal,
    registrations: [
      defineWorker({
        name: "oneshot",
        run: async ({ readiness }) => {
          readiness.set(true, "up");
          await new Promise((resolve) => setTimeout(resolve, 20));
        },
      }),
      keeper,
    ],
  });
  const running = host.run();
  await until(() => host.report().registrations[0]!.state === "stopped", 5_000, "oneshot ended");
  const counted = await reconnects(host, "oneshot");
  controller.abort();
  await running;
  assert.equal(counted, 0, "it ended while the host kept running; it did not reconnect");
});

Deno.test("Host counts a reconnect when the server drops a ready listener's stream", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const host = new Host({
    transport: server.client,
    signal: controller.signal,
    reconnect: { min: 10, max: 50 },
    registrations: [
      defineWorker({ name: "echo", names: ["audit.echo.request"], handler: () => {} }),
    ],
  });
  const running = host.run();
  const readiness = host.readinessOf("echo");
  await readiness.waitReady();
  // Listened to, not polled: the wait before the reconnect is only 10 ms.
  const lost = new Promise<void>((resolve) =>
    readiness.addEventListener("change", (event) => {
      if (!event.ready) resolve();
    })
  );
  assert.equal(server.api.faults.dropStreams(), 1);
  await lost;
  await readiness.waitReady(AbortSignal.timeout(5_000));
  const counted = await reconnects(host, "echo");
  controller.abort();
  await running;
  assert.equal(counted, 1);
  assert.equal(await reconnects(host, "echo"), 1, "the host's stop is no reconnect");
});
