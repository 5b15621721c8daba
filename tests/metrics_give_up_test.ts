/**
 * A retry the worker gives up when it stops runs no attempt: `/metrics`
 * records the event's final outcome (one more `process` observation) but
 * no second consumed message. Over the reference server on
 * loopback, read through the official-format parser.
 */
import assert from "node:assert/strict";
import { defineWorker, Host } from "../mod.ts";
import { parsePrometheus } from "./_prometheus_parse.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";

Deno.test("a retry given up at the stop counts one consumed message, and its dead outcome", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  let calls = 0;
  const host = new Host({
    transport: server.client,
    signal: controller.signal,
    reconnect: { min: 10, max: 50 },
    registrations: [
      defineWorker({
        name: "flaky",
        names: ["metrics.flaky"],
        delivery: "unicast",
        retry: { attempts: 3, delay: 60_000, maxDelay: 60_000 },
        handler: () => {
          calls++;
          throw new Error("transient");
        },
      }),
    ],
  });
  const running = host.run();
  await host.readiness.waitReady();
  await server.client.publish({ name: "metrics.flaky", payload: 1 });
  await until(() => host.report().registrations[0]!.retried === 1);
  controller.abort();
  await running;
  const text = await host.fetch(new Request("http://host/metrics")).text();
  const samples = (await parsePrometheus(text)).flatMap((family) => family.samples);
  const value = (name: string) =>
    samples.filter((sample) => sample.name === name).reduce((sum, sample) => sum + sample.value, 0);
  assert.equal(calls, 1);
  assert.equal(value("messaging_client_consumed_messages_total"), 1);
  // The attempt, and the give-up's final outcome (observed with a time of 0).
  assert.equal(value("messaging_process_duration_seconds_count"), 2);
  assert.equal(value("bus_worker_retried_total"), 1);
  assert.equal(value("bus_worker_failed_total"), 1);
});
