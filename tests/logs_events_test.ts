/**
 * The worker's per-event debug lines (`eventLog()`): one when the pipeline
 * finished with an event, one when the transport was told how it ended —
 * and none at all, nor any work for them, when debug is off.
 */
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { eventLog } from "../src/handling/log_events.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { startWorker } from "./_worker_run.ts";
import { until } from "./_poll.ts";
import { captureLogs } from "./_log_capture.ts";

function eventLines(records: readonly LogRecord[]) {
  return records.filter((record) =>
    record.level === "debug" && /^(Handled|Settled) /.test(String(record.rawMessage))
  ).map((record): Record<string, unknown> => ({
    message: record.rawMessage,
    ...record.properties,
  }));
}

Deno.test("runWorker() logs one debug line per handled event and one per settlement", async () => {
  await using records = await captureLogs("debug");
  const transport = new MemoryTransport();
  const worker = startWorker({
    transport,
    names: ["job.run.request"],
    handler: (event) => {
      if (event.payload === "bad") throw new Error("broken");
    },
  });
  await until(() => transport.openCount === 1);
  await transport.publish({ name: "job.run.request", correlationId: "c1", payload: "good" });
  await transport.publish({ name: "job.run.request", correlationId: "c2", payload: "bad" });
  await until(() => transport.settlements.length === 2);
  await worker.stop();
  const lines = eventLines(records);
  const durations = lines.map((line) => line.durationMs);
  for (const duration of durations.filter((d) => d !== undefined)) {
    assert.ok(typeof duration === "number" && duration >= 0, `durationMs ${duration}`);
  }
  const withoutDuration = lines.map(({ durationMs: _, ...rest }) => rest);
  assert.deepEqual(withoutDuration, [
    {
      message: "Handled {name} {id} in {durationMs} ms: {outcome}",
      name: "job.run.request",
      id: "1",
      correlationId: "c1",
      outcome: "ok",
    },
    {
      message: "Settled {name} {id}: {settlement}",
      name: "job.run.request",
      id: "1",
      correlationId: "c1",
      settlement: "done",
    },
    {
      message: "Handled {name} {id} in {durationMs} ms: {outcome}",
      name: "job.run.request",
      id: "2",
      correlationId: "c2",
      outcome: "failed",
    },
    {
      message: "Settled {name} {id}: {settlement}",
      name: "job.run.request",
      id: "2",
      correlationId: "c2",
      settlement: "dead",
      reason: "attempt 1 of 1 failed: Error: broken",
    },
  ]);
});

Deno.test("runWorker() logs a retry settlement with its delay where the transport redelivers", async () => {
  await using records = await captureLogs("debug");
  const transport = new MemoryTransport({ redeliver: true });
  let calls = 0;
  const worker = startWorker({
    transport,
    names: ["job.run.request"],
    retry: { attempts: 2, delay: 5, backoff: "fixed", jitter: 0 },
    handler: () => {
      if (++calls === 1) throw new Error("once");
    },
  });
  await until(() => transport.openCount === 1);
  await transport.publish({ name: "job.run.request" });
  await until(() => transport.settlements.length === 2);
  await worker.stop();
  const lines = eventLines(records);
  assert.deepEqual(
    lines.map((line) => [line.outcome ?? line.settlement, line.delay]),
    [["failed, will retry", undefined], ["retry", 5], ["ok", undefined], ["done", undefined]],
  );
});

Deno.test("eventLog() is undefined when debug is off, so a worker builds no per-event record", async () => {
  {
    await using _records = await captureLogs("info");
    assert.equal(eventLog(), undefined);
  }
  {
    await using _records = await captureLogs("debug");
    assert.notEqual(eventLog(), undefined);
  }
  // Unconfigured, as in a library whose application set up no logging.
  assert.equal(eventLog(), undefined);
});

Deno.test("runWorker() writes no per-event line when logging is at info", async () => {
  await using records = await captureLogs("info");
  const transport = new MemoryTransport();
  const worker = startWorker({ transport, names: ["job.run.request"], handler: () => {} });
  await until(() => transport.openCount === 1);
  await transport.publish({ name: "job.run.request" });
  await until(() => transport.settlements.length === 1);
  await worker.stop();
  assert.deepEqual(eventLines(records), []);
  assert.ok(records.length > 0, "info lines still arrive");
});
