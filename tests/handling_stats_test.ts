import assert from "node:assert/strict";
import { WorkerStats } from "../mod.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { countOutcomes } from "../src/handling/stats.ts";

const context = { settlement: undefined } as unknown as HandlerContext;

Deno.test("countOutcomes() counts handled, failed and in-flight events", async () => {
  const stats = new WorkerStats();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const pipeline = compose([countOutcomes(stats)], async (event) => {
    if (event.name === "a.slow") await gate;
    if (event.name === "a.fail") throw new TypeError("bad payload");
  });
  const slow = pipeline({ name: "a.slow" }, context);
  const other = pipeline({ name: "a.slow" }, context);
  assert.equal(stats.inFlight, 2);
  assert.equal(stats.maxInFlight, 2);
  release();
  await Promise.all([slow, other]);
  await assert.rejects(pipeline({ name: "a.fail" }, context), TypeError);
  const { handled, failed, inFlight, maxInFlight, lastError } = stats;
  assert.deepEqual({ handled, failed, inFlight, maxInFlight, lastError }, {
    handled: 2,
    failed: 1,
    inFlight: 0,
    maxInFlight: 2,
    lastError: "TypeError: bad payload",
  });
});

Deno.test("WorkerStats.idle() resolves once the last handler in flight finished", async () => {
  const stats = new WorkerStats();
  await stats.idle(); // nothing in flight: at once
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const running = compose([countOutcomes(stats)], () => gate)({ name: "a.b" }, context);
  let idle = false;
  const waiting = stats.idle().then(() => idle = true);
  await Promise.resolve();
  assert.equal(idle, false);
  release();
  await waiting;
  await running;
  assert.equal(stats.handled, 1, "counted before idle() resolved");
});
