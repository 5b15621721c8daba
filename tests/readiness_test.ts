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

Deno.test("ListenerReadiness delivers events with itself as target and currentTarget, as an EventTarget", () => {
  const readiness = new ListenerReadiness();
  assert.ok(readiness instanceof EventTarget);
  const seen: string[] = [];
  readiness.addEventListener("change", function (this: unknown, event: ReadinessChangeEvent) {
    assert.equal(event.target, readiness);
    assert.equal(event.currentTarget, readiness);
    assert.equal(this, readiness);
    seen.push(`plain ${event.ready}`);
  });
  readiness.addEventListener("change", () => seen.push("once"), { once: true });
  const controller = new AbortController();
  readiness.addEventListener("change", () => seen.push("signal"), { signal: controller.signal });
  const removed = () => seen.push("removed");
  readiness.addEventListener("change", removed);
  readiness.removeEventListener("change", removed);
  readiness.addEventListener("failure", {
    handleEvent: (event: Event) => seen.push(`object ${event.target === readiness}`),
  });
  readiness.set(true, "stream open");
  controller.abort();
  readiness.fail("503");
  assert.deepEqual(seen, [
    "plain true",
    "once",
    "signal",
    "plain false",
    "object true",
  ]);
  // dispatchEvent works as EventTarget's does: its return value says whether it was cancelled.
  readiness.addEventListener("custom", (event) => event.preventDefault());
  assert.equal(readiness.dispatchEvent(new Event("custom", { cancelable: true })), false);
  assert.equal(readiness.dispatchEvent(new Event("other", { cancelable: true })), true);
});

/** Whether `target` has every own property a new `EventTarget` has (Deno adds more with listeners). */
function hasEventTargetState(target: EventTarget): boolean {
  const keys = Reflect.ownKeys(target);
  return Reflect.ownKeys(new EventTarget()).every((key) => keys.includes(key));
}

Deno.test("ListenerReadiness holds no EventTarget state until an EventTarget method is called", () => {
  const readiness = new ListenerReadiness();
  readiness.set(true, "stream open");
  readiness.fail("503");
  // Deno keeps an EventTarget's state in own properties; none is made yet.
  assert.deepEqual(Reflect.ownKeys(readiness), []);
  assert.equal(readiness.ready, false);
  assert.equal(readiness.lastFailure, "503");
  const seen: boolean[] = [];
  readiness.addEventListener("change", (event: ReadinessChangeEvent) => seen.push(event.ready));
  assert.ok(hasEventTargetState(readiness));
  readiness.set(true, "stream open");
  assert.deepEqual(seen, [true], "a listener added later sees the flips after it only");
  for (const method of ["removeEventListener", "dispatchEvent"] as const) {
    const other = new ListenerReadiness();
    if (method === "dispatchEvent") other.dispatchEvent(new Event("change"));
    else other.removeEventListener("change", () => {});
    assert.ok(hasEventTargetState(other), method);
  }
});

Deno.test("ListenerReadiness.waitReady() listens only while it waits", async () => {
  const readiness = new ListenerReadiness();
  const waiting = readiness.waitReady();
  readiness.set(true, "open");
  await waiting;
  const calls: string[] = [];
  readiness.addEventListener("change", () => calls.push("change"));
  readiness.set(false, "down");
  assert.deepEqual(calls, ["change"], "waitReady()'s own listener was removed");
});
