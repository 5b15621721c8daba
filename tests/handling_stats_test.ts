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
  assert.deepEqual({ ...stats }, {
    handled: 2,
    failed: 1,
    invalid: 0,
    inFlight: 0,
    maxInFlight: 2,
    lastError: "TypeError: bad payload",
  });
});
