import assert from "node:assert/strict";
import { KeyedQueue } from "../src/keyed_queue.ts";
import { Slots } from "../src/slots.ts";

/** Items that run until the test ends them, recording what started. */
function harness(size: number, limit: number, signal?: AbortSignal) {
  const slots = new Slots(size);
  const started: string[] = [];
  const running = new Map<string, () => void>();
  const counters = { queued: 0, maxQueued: 0 };
  const queue = new KeyedQueue<string>({
    slots,
    limit,
    signal,
    counters,
    run: (item) =>
      new Promise<void>((resolve) => {
        started.push(item);
        running.set(item, resolve);
      }),
  });
  /** Ends a running item and lets the queue move on. */
  const end = async (item: string) => {
    const resolve = running.get(item);
    assert.ok(resolve, `${item} is running`);
    running.delete(item);
    resolve();
    await flush();
  };
  return { slots, queue, started, running, counters, end };
}

async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("KeyedQueue.push() runs one item per key at a time, in order, and other keys beside it", async () => {
  const { queue, started, end } = harness(4, 10);
  await queue.push("a", "a1");
  await queue.push("a", "a2");
  await queue.push("b", "b1");
  await queue.push("a", "a3");
  await flush();
  assert.deepEqual(started, ["a1", "b1"]);
  await end("a1");
  assert.deepEqual(started, ["a1", "b1", "a2"]);
  await end("a2");
  await end("b1");
  assert.deepEqual(started, ["a1", "b1", "a2", "a3"]);
  await end("a3");
  assert.equal(queue.busyKeys, 0);
  assert.equal(queue.queued, 0);
});

Deno.test("KeyedQueue.push() does not let a busy key block other keys", async () => {
  const { queue, started, counters } = harness(2, 100);
  await queue.push("hot", "hot1");
  for (let i = 2; i <= 50; i++) await queue.push("hot", `hot${i}`);
  // 49 items wait behind the busy key without slots; another key still starts.
  await queue.push("cold", "cold1");
  await flush();
  assert.deepEqual(started, ["hot1", "cold1"]);
  assert.equal(counters.queued, 49);
});

Deno.test("KeyedQueue.push() waits for a slot when every slot is held", async () => {
  const { queue, started, end } = harness(1, 10);
  await queue.push(undefined, "x1");
  let resolved = false;
  const second = queue.push(undefined, "x2").then(() => resolved = true);
  await flush();
  assert.equal(resolved, false);
  assert.equal(queue.queued, 1);
  await end("x1");
  await second;
  assert.deepEqual(started, ["x1", "x2"]);
  assert.equal(queue.queued, 0);
});

Deno.test("KeyedQueue.push() waits for room behind a busy key once the limit is reached", async () => {
  const { queue, started, counters, end } = harness(2, 2);
  await queue.push("a", "a1");
  await queue.push("a", "a2");
  await queue.push("a", "a3");
  let resolved = false;
  const fourth = queue.push("a", "a4").then(() => resolved = true);
  await flush();
  assert.equal(resolved, false, "the caller is held back");
  assert.equal(counters.queued, 2);
  await end("a1");
  await fourth;
  assert.equal(counters.maxQueued, 2, "never more than the limit queued");
  await end("a2");
  await end("a3");
  assert.deepEqual(started, ["a1", "a2", "a3", "a4"]);
});

Deno.test("KeyedQueue.push() rejects with the abort reason while waiting and never runs the item", async () => {
  const { queue, started, counters } = harness(1, 1);
  await queue.push("a", "a1");
  await queue.push("a", "a2");
  const controller = new AbortController();
  const reason = new Error("stop");
  const forRoom = queue.push("a", "a3", controller.signal);
  const forSlot = queue.push("b", "b1", controller.signal);
  controller.abort(reason);
  await assert.rejects(forRoom, (error) => error === reason);
  await assert.rejects(forSlot, (error) => error === reason);
  await assert.rejects(queue.push("c", "c1", controller.signal), (error) => error === reason);
  assert.deepEqual(started, ["a1"]);
  assert.equal(counters.queued, 1, "only a2 is left queued");
  assert.equal(queue.busyKeys, 1, "b and c were given up");
});

Deno.test("KeyedQueue queues a key's next item behind items already waiting for a slot", async () => {
  const { queue, started, end } = harness(1, 10);
  await queue.push("a", "a1");
  await queue.push("a", "a2");
  queue.take("b", "b1"); // waits for the only slot
  await end("a1");
  assert.deepEqual(started, ["a1", "b1"], "b1 waited longer than a2");
  await end("b1");
  assert.deepEqual(started, ["a1", "b1", "a2"]);
});

Deno.test("KeyedQueue keeps the slots busy until every lane is empty", async () => {
  const { slots, queue, end } = harness(1, 10);
  await queue.push("a", "a1");
  await queue.push("a", "a2");
  let idle = false;
  slots.idle().then(() => idle = true);
  await end("a1");
  assert.equal(idle, false, "a2 still holds the slot");
  await end("a2");
  assert.equal(idle, true);
});

Deno.test("KeyedQueue.canTake() refuses only what can neither start nor be queued", async () => {
  const { queue, started, counters } = harness(1, 2);
  assert.equal(queue.canTake("a"), true);
  queue.take("a", "a1"); // starts at once
  queue.take("a", "a2");
  queue.take(undefined, "x1");
  assert.equal(counters.queued, 2);
  assert.equal(queue.canTake("a"), false, "busy key, queue full");
  assert.equal(queue.canTake(undefined), false, "no slot, queue full");
  assert.equal(queue.canTake("b"), false, "free key but no slot");
  await flush();
  assert.deepEqual(started, ["a1"]);
  assert.equal(counters.maxQueued, 2);
});

Deno.test("KeyedQueue.take() starts an item at once without counting it as queued", async () => {
  const { queue, started, counters } = harness(2, 1);
  queue.take("a", "a1");
  queue.take("b", "b1");
  assert.deepEqual(started, ["a1", "b1"]);
  assert.equal(counters.maxQueued, 0);
  await flush();
});

Deno.test("KeyedQueue abandons queued items once its signal aborts", async () => {
  const controller = new AbortController();
  const { slots, queue, started, counters, end } = harness(1, 10, controller.signal);
  await queue.push("a", "a1");
  await queue.push("a", "a2");
  queue.take(undefined, "x1");
  controller.abort(new Error("drain timeout"));
  await flush();
  assert.equal(counters.queued, 1, "a2 stays in its lane until a1 ends");
  await end("a1");
  assert.deepEqual(started, ["a1"]);
  assert.equal(counters.queued, 0);
  assert.equal(queue.busyKeys, 0);
  assert.equal(slots.inUse, 0);
});

Deno.test("KeyedQueue() rejects a limit that is not a positive integer", () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new KeyedQueue({ slots: new Slots(1), limit, run: () => Promise.resolve() }),
      (error) => error instanceof RangeError && /queue limit/.test(error.message),
    );
  }
});

Deno.test("KeyedQueue.push() starts an item synchronously, never counted as queued, when its key and a slot are free", async () => {
  const { queue, started, counters, end } = harness(2, 10);
  const pushed = queue.push("a", "a1");
  assert.deepEqual(started, ["a1"], "started before push() settled");
  await pushed;
  void queue.push(undefined, "x1");
  assert.deepEqual(started, ["a1", "x1"]);
  assert.equal(counters.maxQueued, 0);
  // The same key is busy now: the next one waits in its lane, counted.
  await queue.push("a", "a2");
  assert.equal(counters.queued, 1);
  assert.deepEqual(started, ["a1", "x1"]);
  await end("a1");
  assert.deepEqual(started, ["a1", "x1", "a2"]);
  await end("a2");
  await end("x1");
  assert.equal(queue.busyKeys, 0);
});

Deno.test("KeyedQueue.push() rejects with the reason when its signal already aborted, even with a free slot", async () => {
  const { queue, started, slots } = harness(2, 10);
  const controller = new AbortController();
  controller.abort(new Error("stopped"));
  await assert.rejects(queue.push("a", "a1", controller.signal), /stopped/);
  assert.deepEqual(started, []);
  assert.equal(queue.busyKeys, 0);
  assert.equal(slots.inUse, 0);
});

Deno.test("KeyedQueue keeps idle keys for their return, and sweeps them out past 1,024", async () => {
  const { queue, end } = harness(2, 10);
  // A key that comes back finds its idle entry: still one key kept.
  for (let round = 0; round < 3; round++) {
    await queue.push("a", `a${round}`);
    await end(`a${round}`);
  }
  assert.equal(queue.busyKeys, 0);
  assert.equal(queue.keptKeys, 1);
  let most = 0;
  for (let i = 0; i < 5_000; i++) {
    await queue.push(`k${i}`, `item${i}`);
    most = Math.max(most, queue.keptKeys);
    await end(`item${i}`);
  }
  assert.equal(queue.busyKeys, 0);
  assert.ok(most <= 1_024, `kept ${most} keys for at most 1 busy one`);
  // A busy key survives every sweep, and its lane still orders its items.
  await queue.push("held", "held1");
  await queue.push("held", "held2");
  for (let i = 0; i < 3_000; i++) {
    await queue.push(`m${i}`, `other${i}`);
    await end(`other${i}`);
  }
  assert.equal(queue.busyKeys, 1);
  await end("held1");
  await end("held2");
  assert.equal(queue.busyKeys, 0);
  assert.equal(queue.queued, 0);
});
