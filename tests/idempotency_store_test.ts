import assert from "node:assert/strict";
import { type IdempotencyOutcome, MemoryIdempotencyStore } from "../mod.ts";
import { memoryStore } from "../src/idempotency_store.ts";
import { fakeTime, settle } from "./_fake_time.ts";

const OUTCOME: IdempotencyOutcome = { replies: [{ type: "reply", payload: { ok: true } }] };
const never = new AbortController().signal;

/** A store on a clock the test moves. */
function clocked(maxEntries?: number) {
  const clock = { now: 1_000 };
  const store = new MemoryIdempotencyStore({ maxEntries, now: () => clock.now });
  return { clock, store };
}

Deno.test("MemoryIdempotencyStore.claim() gives a free key to one owner and reports it pending to others", async () => {
  const { store } = clocked();
  assert.deepEqual(await store.claim("k", "event-1", 100), { status: "claimed" });
  assert.deepEqual(await store.claim("k", "event-2", 100), { status: "pending" });
  assert.deepEqual(await store.claim("k", "event-1", 100), { status: "claimed" }, "its own again");
  await store.complete("k", OUTCOME, 100);
  assert.deepEqual(await store.claim("k", "event-3", 100), { status: "done", outcome: OUTCOME });
});

Deno.test("MemoryIdempotencyStore lets an outcome lapse after its ttl on the store's clock", async () => {
  const { clock, store } = clocked();
  await store.claim("k", "event-1", 100);
  await store.complete("k", OUTCOME, 500);
  clock.now += 499;
  assert.equal((await store.claim("k", "event-2", 100)).status, "done");
  clock.now += 1;
  assert.deepEqual(await store.claim("k", "event-2", 100), { status: "claimed" });
});

Deno.test("MemoryIdempotencyStore lets a pending claim lapse after its ttl", async () => {
  const { clock, store } = clocked();
  await store.claim("k", "event-1", 100);
  clock.now += 100;
  assert.deepEqual(await store.claim("k", "event-2", 100), { status: "claimed" });
});

Deno.test("MemoryIdempotencyStore evicts the least recently used key once full", async () => {
  const { store } = clocked(3);
  for (const key of ["a", "b", "c"]) {
    await store.claim(key, key, 1_000);
    await store.complete(key, OUTCOME, 1_000);
  }
  assert.equal((await store.claim("a", "x", 1_000)).status, "done", "a is now the most recent");
  await store.claim("d", "d", 1_000);
  assert.equal(store.size, 3);
  assert.deepEqual(await store.claim("b", "y", 1_000), { status: "claimed" }, "b was evicted");
  assert.equal((await store.claim("a", "x", 1_000)).status, "done");
  assert.equal(store.size, 3);
});

Deno.test("MemoryIdempotencyStore never holds more than maxEntries keys", async () => {
  const { store } = clocked(100);
  for (let i = 0; i < 10_000; i++) {
    await store.claim(`k${i}`, "owner", 60_000);
    if (i % 2 === 0) await store.complete(`k${i}`, OUTCOME, 60_000);
    assert.ok(store.size <= 100);
  }
  assert.equal(store.size, 100);
  assert.equal((await store.claim("k9999", "other", 60_000)).status, "pending");
  assert.equal((await store.claim("k9998", "other", 60_000)).status, "done");
  assert.equal((await store.claim("k0", "other", 60_000)).status, "claimed");
});

Deno.test("MemoryIdempotencyStore.settled() resolves once the key is completed", async () => {
  const { store } = clocked();
  await store.settled("absent", never);
  await store.claim("k", "event-1", 100);
  let settled = false;
  const waiting = store.settled("k", never).then(() => settled = true);
  await Promise.resolve();
  assert.equal(settled, false);
  await store.complete("k", OUTCOME, 100);
  await waiting;
  await store.settled("k", never); // done: at once
});

Deno.test("MemoryIdempotencyStore.settled() resolves when the pending key is evicted", async () => {
  const { store } = clocked(1);
  await store.claim("k", "event-1", 100);
  const waiting = store.settled("k", never);
  await store.claim("other", "event-2", 100);
  await waiting;
  assert.deepEqual(await store.claim("k", "event-3", 100), { status: "claimed" });
});

Deno.test("MemoryIdempotencyStore.settled() rejects with the abort reason", async () => {
  const { store } = clocked();
  await store.claim("k", "event-1", 100);
  const controller = new AbortController();
  const reason = new Error("drain timeout");
  const waiting = store.settled("k", controller.signal);
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(store.settled("k", controller.signal), (error) => error === reason);
  await store.complete("k", OUTCOME, 100); // the removed waiter is not called
});

Deno.test("MemoryIdempotencyStore() rejects a maxEntries that is not an integer >= 1", () => {
  for (const maxEntries of [-1, 0, 1.5, Number.NaN, "10" as unknown as number]) {
    assert.throws(
      () => new MemoryIdempotencyStore({ maxEntries }),
      (error) => error instanceof RangeError && /maxEntries/.test(error.message),
      String(maxEntries),
    );
  }
});

Deno.test("MemoryIdempotencyStore keeps keys with and without NULs apart", async () => {
  const { store } = clocked();
  const keys = [
    "a",
    "\u0000a",
    "\u0000\u0000a",
    "g\u0000n\u0000a",
    "g\u0000n\u0000\u0000a",
    "g\u0000na",
  ];
  for (const key of keys) {
    assert.deepEqual(await store.claim(key, `owner of ${key}`, 100), { status: "claimed" }, key);
  }
  assert.equal(store.size, keys.length);
  await store.complete("g\u0000n\u0000a", OUTCOME, 100);
  for (const key of keys.filter((key) => key !== "g\u0000n\u0000a")) {
    assert.deepEqual(await store.claim(key, "someone else", 100), { status: "pending" }, key);
  }
});

Deno.test("MemoryIdempotencyStore evicts the least recently used key across scopes and names", async () => {
  const { store } = clocked(2);
  await store.claim("billing\u0000pay.request\u0000k1", "e1", 1_000);
  await store.claim("audit\u0000log.request\u0000k1", "e2", 1_000);
  await store.complete("billing\u0000pay.request\u0000k1", OUTCOME, 1_000);
  // A hit makes the billing key the most recently used: audit's goes first.
  assert.equal((await store.claim("billing\u0000pay.request\u0000k1", "e3", 1_000)).status, "done");
  await store.claim("plain", "e4", 1_000);
  assert.equal(store.size, 2);
  assert.equal((await store.claim("billing\u0000pay.request\u0000k1", "e5", 1_000)).status, "done");
  assert.deepEqual(await store.claim("audit\u0000log.request\u0000k1", "e6", 1_000), {
    status: "claimed",
  }, "audit's key was evicted");
});

Deno.test("MemoryIdempotencyStore evicts in least-recently-used order across its growth steps", async () => {
  // 300 entries: the store's arrays grow past their first 256 on the way.
  const { store } = clocked(300);
  for (let i = 0; i < 300; i++) {
    await store.claim(`k${i}`, "owner", 60_000);
    await store.complete(`k${i}`, OUTCOME, 60_000);
  }
  // A hit on every even key makes the odd ones the least recently used.
  for (let i = 0; i < 300; i += 2) {
    assert.equal((await store.claim(`k${i}`, "x", 1)).status, "done");
  }
  for (let i = 0; i < 150; i++) await store.claim(`new${i}`, "owner", 60_000);
  assert.equal(store.size, 300);
  for (let i = 0; i < 300; i += 2) {
    assert.equal((await store.claim(`k${i}`, "y", 60_000)).status, "done", `k${i}`);
  }
  // Each odd key was evicted; claiming it again evicts one of the new keys, the oldest now.
  for (let i = 1; i < 300; i += 2) {
    assert.equal((await store.claim(`k${i}`, "y", 60_000)).status, "claimed", `k${i}`);
  }
  assert.equal(store.size, 300);
  for (let i = 0; i < 300; i += 2) {
    assert.equal((await store.claim(`k${i}`, "y", 60_000)).status, "done", `k${i} kept`);
  }
  assert.deepEqual(await store.claim("new149", "z", 60_000), { status: "claimed" }, "evicted");
});

Deno.test("MemoryIdempotencyStore keeps keys beyond Latin-1 and long keys apart", async () => {
  const { store } = clocked();
  const keys = ["ключ", "ключи", "café", "cafe", "🔑", "x".repeat(1_000), "x".repeat(999)];
  for (const key of keys) {
    assert.deepEqual(await store.claim(`g\u0000n\u0000${key}`, "e1", 100), { status: "claimed" });
  }
  for (const key of keys) await store.complete(`g\u0000n\u0000${key}`, OUTCOME, 100);
  for (const key of keys) {
    assert.deepEqual(await store.claim(`g\u0000n\u0000${key}`, "e2", 100), {
      status: "done",
      outcome: OUTCOME,
    }, key.slice(0, 10));
  }
  assert.equal(store.size, keys.length);
});

Deno.test("MemoryIdempotencyStore.claim() of a lapsed pending key wakes whoever waited for it", async () => {
  const { clock, store } = clocked();
  await store.claim("k", "event-1", 100);
  let woken = false;
  const waiting = store.settled("k", never).then(() => woken = true);
  clock.now += 100;
  assert.deepEqual(await store.claim("k", "event-2", 100), { status: "claimed" });
  await waiting;
  assert.equal(woken, true);
  // The waiter claims again and finds event-2's claim pending.
  assert.deepEqual(await store.claim("k", "event-3", 100), { status: "pending" });
});

Deno.test("MemoryIdempotencyStore answers an outcome without replies with an empty list", async () => {
  const { store } = clocked();
  await store.claim("k", "event-1", 100);
  await store.complete("k", { replies: [] }, 100);
  assert.deepEqual(await store.claim("k", "event-2", 100), {
    status: "done",
    outcome: { replies: [] },
  });
});

Deno.test("MemoryIdempotencyStore keeps the keys of more scopes and names than it numbers apart", async () => {
  // Past the 4096 prefixes the store numbers, keys are kept whole.
  const { store } = clocked(20_000);
  const scoped = (i: number, key: string) => `scope-${i}\u0000name\u0000${key}`;
  for (let i = 0; i < 5_000; i++) {
    assert.deepEqual(await store.claim(scoped(i, "k"), `e${i}`, 1_000), { status: "claimed" });
    assert.deepEqual(await store.claim(scoped(i, "k"), "other", 1_000), { status: "pending" });
  }
  await store.complete(scoped(4_999, "k"), OUTCOME, 1_000);
  assert.deepEqual(await store.claim(scoped(4_999, "k"), "x", 1_000), {
    status: "done",
    outcome: OUTCOME,
  });
  assert.equal((await store.claim(scoped(4_998, "k"), "x", 1_000)).status, "pending");
  assert.equal((await store.claim(scoped(4_999, "j"), "x", 1_000)).status, "claimed");
  await store.settled(scoped(4_999, "k"), never);
  assert.equal(store.size, 5_001);
});

Deno.test("MemoryIdempotencyStore times a middleware's claim at its next clock reading", async () => {
  const { clock, store } = clocked();
  const group = memoryStore.groupOf(store, "g\u0000n\u0000");
  // The middleware's claim reads no clock; the first reading after it (here a
  // duplicate's claim at 1050) times it, so it lapses 100 ms after that.
  assert.ok(memoryStore.claim(store, group, "k", "event-1", 100) >= 0);
  clock.now = 1_050;
  assert.deepEqual(await store.claim("g\u0000n\u0000k", "event-2", 100), { status: "pending" });
  clock.now = 1_149;
  assert.deepEqual(await store.claim("g\u0000n\u0000k", "event-2", 100), { status: "pending" });
  clock.now = 1_150;
  assert.deepEqual(await store.claim("g\u0000n\u0000k", "event-2", 100), { status: "claimed" });
});

Deno.test("MemoryIdempotencyStore reads its clock once 64 middleware claims wait to be timed", async () => {
  const { clock, store } = clocked();
  const group = memoryStore.groupOf(store, "g\u0000n\u0000");
  for (let i = 0; i < 64; i++) memoryStore.claim(store, group, `k${i}`, `e${i}`, 100);
  clock.now = 1_010;
  // The 65th finds no room to wait: the first 64 are timed at 1010, it waits in turn.
  memoryStore.claim(store, group, "k64", "e64", 100);
  clock.now = 1_109;
  assert.equal((await store.claim("g\u0000n\u0000k0", "x", 100)).status, "pending");
  clock.now = 1_110;
  assert.equal((await store.claim("g\u0000n\u0000k63", "x", 100)).status, "claimed");
  // k64 was timed by the reading at 1109.
  clock.now = 1_208;
  assert.equal((await store.claim("g\u0000n\u0000k64", "x", 100)).status, "pending");
  clock.now = 1_209;
  assert.equal((await store.claim("g\u0000n\u0000k64", "x", 100)).status, "claimed");
});

Deno.test("MemoryIdempotencyStore times a completed middleware claim by its completion", async () => {
  const { clock, store } = clocked();
  const group = memoryStore.groupOf(store, "g\u0000n\u0000");
  const index = memoryStore.claim(store, group, "k", "event-1", 100);
  clock.now = 5_000;
  memoryStore.complete(store, index, memoryStore.versionAt(store, index), group, "k", OUTCOME, 100);
  clock.now = 5_099;
  assert.equal((await store.claim("g\u0000n\u0000k", "event-2", 100)).status, "done");
  clock.now = 5_100;
  assert.equal((await store.claim("g\u0000n\u0000k", "event-2", 100)).status, "claimed");
});

Deno.test("MemoryIdempotencyStore.settled() waits for a middleware's claim not timed yet", async () => {
  const { store } = clocked();
  const group = memoryStore.groupOf(store, "g\u0000n\u0000");
  const index = memoryStore.claim(store, group, "k", "event-1", 100);
  let settled = false;
  const waiting = store.settled("g\u0000n\u0000k", never).then(() => settled = true);
  await Promise.resolve();
  assert.equal(settled, false);
  assert.equal(store.size, 1);
  memoryStore.complete(store, index, memoryStore.versionAt(store, index), group, "k", OUTCOME, 100);
  await waiting;
});

Deno.test("MemoryIdempotencyStore.settled() wakes its waiters when a claim nobody ends lapses", async () => {
  using time = fakeTime();
  const store = new MemoryIdempotencyStore();
  await store.claim("k", "event-1", 1_000);
  let woken = false;
  const waiting = store.settled("k", never).then(() => woken = true);
  await time.clock.tickAsync(999);
  assert.equal(woken, false, "still in flight");
  await time.clock.tickAsync(1);
  assert.equal(woken, true, "woken at the lapse, without another claim");
  await waiting;
  assert.deepEqual(await store.claim("k", "event-2", 1_000), { status: "claimed" });
  assert.equal(time.clock.countTimers(), 0, "no timer left behind");
});

Deno.test("MemoryIdempotencyStore clears a waiter's lapse timer once the key completes", async () => {
  using time = fakeTime();
  const store = new MemoryIdempotencyStore();
  await store.claim("k", "event-1", 600_000);
  const waiting = store.settled("k", never);
  assert.equal(time.clock.countTimers(), 1);
  await store.complete("k", OUTCOME, 600_000);
  await waiting;
  await settle(time.clock);
  assert.equal(time.clock.countTimers(), 0);
});

Deno.test("MemoryIdempotencyStore.release() frees its owner's claim and wakes the waiters", async () => {
  const { store } = clocked();
  await store.claim("k", "event-1", 100);
  let woken = false;
  const waiting = store.settled("k", never).then(() => woken = true);
  await store.release("k", "event-2");
  assert.deepEqual(await store.claim("k", "event-3", 100), { status: "pending" }, "not event-2's");
  await store.release("k", "event-1");
  await waiting;
  assert.equal(woken, true);
  assert.deepEqual(await store.claim("k", "event-3", 100), { status: "claimed" });
});

Deno.test("MemoryIdempotencyStore.release() leaves a recorded outcome alone", async () => {
  const { store } = clocked();
  await store.claim("k", "event-1", 100);
  await store.complete("k", OUTCOME, 100);
  await store.release("k", "event-1");
  assert.deepEqual(await store.claim("k", "event-2", 100), { status: "done", outcome: OUTCOME });
});

Deno.test("memoryStore.release() by index frees the claim, and looks it up again once it moved", () => {
  const { store } = clocked(1);
  const group = memoryStore.groupOf(store, "scope\u0000name\u0000");
  const index = memoryStore.claim(store, group, "a", "event-1", 100);
  const version = memoryStore.versionAt(store, index);
  memoryStore.release(store, index, version, group, "a", "event-1");
  assert.equal(store.size, 0);
  // Claimed again after an eviction: the old index and version no longer hold it.
  const again = memoryStore.claim(store, group, "a", "event-1", 100);
  memoryStore.claim(store, group, "b", "event-2", 100); // evicts "a" (one entry at most)
  memoryStore.claim(store, group, "a", "event-1", 100); // "a" anew, evicting "b"
  memoryStore.release(store, again, version, group, "a", "event-1");
  assert.equal(store.size, 0, "found by its key and released");
});
