import assert from "node:assert/strict";
import { captureLogs } from "./_log_capture.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { logFailures } from "../src/handling/log_failures.ts";

const context = { settlement: undefined } as unknown as HandlerContext;

Deno.test("logFailures() logs a failed handler with its event at error level and rethrows", async () => {
  await using records = await captureLogs("debug");
  const failure = new Error("boom");
  const pipeline = compose([logFailures], () => Promise.reject(failure));
  const event = { name: "job.run.request", id: "7", correlationId: "c1" };
  await assert.rejects(pipeline(event, context), (error) => error === failure);
  await compose([logFailures], () => {})(event, context);
  assert.equal(records.length, 1, "a success logs nothing");
  const [record] = records;
  assert.equal(record!.level, "error");
  assert.deepEqual(record!.category, ["bus-integration", "worker"]);
  assert.deepEqual(record!.properties, {
    name: "job.run.request",
    id: "7",
    correlationId: "c1",
    error: failure,
  });
});
