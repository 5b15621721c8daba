import assert from "node:assert/strict";
import { aggregateReadiness, ListenerReadiness, type ReadinessChangeEvent } from "../mod.ts";
import { observeReadiness } from "../src/readiness.ts";

function record(readiness: ListenerReadiness): Array<[boolean, string]> {
  const seen: Array<[boolean, string]> = [];
  readiness.addEventListener("change", (event: ReadinessChangeEvent) => {
    seen.push([event.ready, event.reason]);
  });
  return seen;
}

Deno.test("ListenerReadiness starts not ready and dispatches change only on flips", () => {
  const readiness = new ListenerReadiness();
  const seen = record(readiness);
  assert.equal(readiness.ready, false);
  readiness.set(false, "still down");
  readiness.set(true, "stream open");
  readiness.set(true, "stream open again");
  readiness.set(false, "503 unavailable");
  assert.deepEqual(seen, [[true, "stream open"], [false, "503 unavailable"]]);
  assert.equal(readiness.reason, "503 unavailable");
});

Deno.test("ListenerReadiness.waitReady() resolves on the flip to ready", async () => {
  const readiness = new ListenerReadiness();
  let resolved = false;
  const waiting = readiness.waitReady().then(() => resolved = true);
  readiness.set(false, "x");
  await Promise.resolve();
  assert.equal(resolved, false);
  readiness.set(true, "open");
  await waiting;
  assert.equal(resolved, true);
  await readiness.waitReady(); // already ready: at once
});

Deno.test("ListenerReadiness.waitReady() rejects with the signal's reason and unhooks", async () => {
  const readiness = new ListenerReadiness();
  const controller = new AbortController();
  const reason = new Error("gave up");
  const waiting = readiness.waitReady(controller.signal);
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(readiness.waitReady(AbortSignal.abort(reason)), (e) => e === reason);
});

Deno.test("aggregateReadiness() is ready only while every part is ready", () => {
  const parts = [new ListenerReadiness(), new ListenerReadiness()];
  const all = new ListenerReadiness();
  const seen = record(all);
  const stop = aggregateReadiness(all, parts);
  parts[0]!.set(true, "a open");
  assert.equal(all.ready, false);
  parts[1]!.set(true, "b open");
  assert.equal(all.ready, true);
  parts[0]!.set(false, "a dropped");
  assert.equal(all.ready, false);
  stop();
  parts[0]!.set(true, "a back");
  assert.equal(all.ready, false, "no longer follows after stop()");
  assert.deepEqual(seen, [[true, "b open"], [false, "a dropped"]]);
});

Deno.test("observeReadiness() tells its observer of each flip and failure, before the listeners", () => {
  const readiness = new ListenerReadiness();
  const order: string[] = [];
  readiness.addEventListener("change", (event: ReadinessChangeEvent) => {
    order.push(`listener ${event.ready}`);
  });
  readiness.addEventListener("failure", () => order.push("listener failure"));
  observeReadiness(readiness, {
    changed: (ready, reason) => order.push(`observer ${ready} ${reason}`),
    failed: (failure) => order.push(`observer failure ${failure}`),
  });
  readiness.set(true, "stream open");
  readiness.set(true, "no flip");
  readiness.fail("503");
  readiness.fail("503 again");
  assert.deepEqual(order, [
    "observer true stream open",
    "listener true",
    "observer false 503",
    "listener false",
    "observer failure 503",
    "listener failure",
    "observer failure 503 again",
    "listener failure",
  ]);
  observeReadiness(readiness, undefined);
  readiness.set(true, "stream open");
  assert.equal(order.at(-1), "listener true");
});
