/**
 * What `bus_worker_handled_total` counts, over a real Host on the loopback
 * reference server: every event handled successfully, an idempotent
 * duplicate answered from the store included (counted apart in
 * `duplicates` too), and its HELP text says so.
 */
import assert from "node:assert/strict";
import { defineWorker, Host, Requester } from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";

Deno.test("bus_worker_handled_total counts idempotent duplicates, and its HELP says it does", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  let runs = 0;
  const host = new Host({
    transport: server.client,
    signal: controller.signal,
    reconnect: { min: 10, max: 50 },
    registrations: [
      defineWorker({
        name: "pay",
        names: ["audit.pay.request"],
        delivery: "unicast",
        handler: (_event, publisher) => {
          runs++;
          return publisher.reply({ ok: true });
        },
      }),
    ],
  });
  const running = host.run();
  await host.readiness.waitReady();
  {
    await using requester = new Requester({
      transport: server.client,
      responseNames: ["audit.pay.response"],
      reconnect: { min: 10, max: 50 },
    });
    for (let index = 0; index < 3; index++) {
      const reply = await requester.request("audit.pay.request", { index }, {
        idempotencyKey: "same-key",
      });
      assert.deepEqual(reply, { ok: true });
    }
  }
  await until(() => host.report().registrations[0]!.handled === 3);
  const text = await host.fetch(new Request("http://host.test/metrics")).text();
  controller.abort();
  await running;
  assert.equal(runs, 1, "the handler ran once");
  assert.equal(host.report().registrations[0]!.duplicates, 2);
  assert.match(text, /^bus_worker_handled_total\{registration="pay"\} 3$/m);
  assert.match(
    text,
    /^# HELP bus_worker_handled_total Events handled successfully, idempotent duplicates answered from the store included\.$/m,
  );
});
