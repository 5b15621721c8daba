import assert from "node:assert/strict";
import { WorkerStats } from "../mod.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { measureProcessing, ProcessMetrics } from "../src/handling/metrics.ts";
import { renderPrometheus } from "../src/prometheus.ts";
import { fakeTime } from "./_fake_time.ts";
import { hasPrometheusParser, parsePrometheus } from "./_prometheus_parse.ts";

const context = () => ({ settlement: undefined }) as unknown as HandlerContext;

const parser = await hasPrometheusParser();
if (!parser && Deno.env.get("CI") === "true") {
  throw new Error("CI needs Debian's python3-prometheus-client to check /metrics");
}
if (!parser) {
  // deno-lint-ignore no-console -- one line says why tests are skipped
  console.error("prometheus_test: python3-prometheus-client missing, parser tests skipped");
}

Deno.test({
  name: "renderPrometheus() output parses with Prometheus' own parser and matches the counters",
  ignore: !parser,
}, async () => {
  const process = new ProcessMetrics();
  const pipeline = compose([measureProcessing(process)], (event) => {
    if (event.name === "job.fail") throw new Error("x");
  });
  for (let i = 0; i < 3; i++) await pipeline({ name: "job.run" }, context());
  await assert.rejects(pipeline({ name: "job.fail" }, context()));
  const retrying = context();
  const retry = compose([measureProcessing(process)], (_event, c) => {
    c.settlement = { type: "retry", delay: 10 };
    throw new Error("again");
  });
  await assert.rejects(retry({ name: "job.fail" }, retrying));
  const stats = new WorkerStats();
  stats.handled = 3;
  stats.failed = 1;
  stats.retried = 1;
  const text = renderPrometheus([
    { registration: 'odd "name"\\x', ready: true, reconnects: 2, stats, process },
  ]);
  const families = await parsePrometheus(text);
  const byName = new Map(families.map((family) => [family.name, family]));
  const histogram = byName.get("messaging_process_duration_seconds")!;
  assert.equal(histogram.type, "histogram");
  const run = histogram.samples.filter((s) => s.labels.name === "job.run");
  assert.equal(run[0]!.labels.registration, 'odd "name"\\x', "label escaping round-trips");
  const sample = (name: string, labels: Record<string, string> = {}) =>
    families.flatMap((f) => f.samples).find((s) =>
      s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
    )?.value;
  assert.equal(sample("messaging_process_duration_seconds_count", { name: "job.run" }), 3);
  assert.equal(
    sample("messaging_process_duration_seconds_bucket", { name: "job.run", le: "+Inf" }),
    3,
  );
  assert.equal(sample("messaging_client_consumed_messages_total", { name: "job.run" }), 3);
  assert.equal(sample("messaging_client_consumed_messages_total", { name: "job.fail" }), 2);
  assert.equal(sample("bus_process_outcomes_total", { name: "job.fail", outcome: "retry" }), 1);
  assert.equal(sample("bus_process_outcomes_total", { name: "job.fail", outcome: "dead" }), 1);
  assert.equal(sample("bus_process_outcomes_total", { name: "job.run", outcome: "done" }), 3);
  assert.equal(sample("bus_worker_handled_total"), 3);
  assert.equal(sample("bus_worker_retried_total"), 1);
  assert.equal(sample("bus_registration_ready"), 1);
  assert.equal(sample("bus_listener_reconnects_total"), 2);
});

Deno.test("ProcessMetrics.observe() fills cumulative buckets", () => {
  const metrics = new ProcessMetrics();
  metrics.observe("a.b", "done", 0.004);
  metrics.observe("a.b", "done", 0.3);
  metrics.observe("a.b", "dead", 60);
  const m = [...metrics.entries()][0]![1];
  const at = (bound: number) => m.buckets[metrics.bounds.indexOf(bound)];
  assert.equal(at(0.005), 1);
  assert.equal(at(0.25), 1);
  assert.equal(at(0.5), 2);
  assert.equal(at(10), 2);
  assert.equal(m.buckets.at(-1), 3, "+Inf counts everything");
  assert.ok(Math.abs(m.sum - 60.304) < 1e-9);
});

Deno.test("measureProcessing() records each attempt's outcome and how long it took, in whole ms", async () => {
  using time = fakeTime();
  const process = new ProcessMetrics();
  const pipeline = compose([measureProcessing(process)], (event) => {
    time.clock.tick(event.name === "job.slow" ? 30 : 2);
    if (event.name === "job.slow") throw new Error("late");
  });
  await pipeline({ name: "job.fast" }, context());
  await assert.rejects(pipeline({ name: "job.slow" }, context()));
  await pipeline({ name: "job.fast" }, context());
  const metrics = new Map(process.entries());
  const fast = metrics.get("job.fast")!;
  const slow = metrics.get("job.slow")!;
  assert.equal(fast.consumed, 2, "events of one name after another land on it");
  assert.deepEqual(fast.outcomes, { done: 2, retry: 0, dead: 0 });
  assert.ok(Math.abs(fast.sum - 0.004) < 1e-9);
  assert.deepEqual(slow.outcomes, { done: 0, retry: 0, dead: 1 });
  assert.ok(Math.abs(slow.sum - 0.03) < 1e-9);
  assert.equal(slow.buckets[process.bounds.indexOf(0.025)], 0, "30 ms is above 25 ms");
  assert.equal(slow.buckets[process.bounds.indexOf(0.05)], 1);

  // A worker giving up a retry runs the pipeline with its settlement decided: no attempt to time.
  const givenUp = { settlement: { type: "dead", reason: "stopped" } } as unknown as HandlerContext;
  await assert.rejects(pipeline({ name: "job.slow" }, givenUp));
  assert.equal(slow.outcomes.dead, 2);
  assert.ok(Math.abs(slow.sum - 0.03) < 1e-9, "the give-up adds a time of 0");
});
