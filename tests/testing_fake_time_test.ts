import assert from "node:assert/strict";
import { delay, Requester, RequestTimeoutError, TransientError } from "../mod.ts";
import { FakeTime, TimeError } from "../testing.ts";
import { MemoryTransport } from "./_memory_transport.ts";

Deno.test("FakeTime fakes Date, timers and AbortSignal.timeout until restored", async () => {
  const realNow = Date.now();
  {
    using time = new FakeTime("2026-01-01T00:00:00Z");
    assert.equal(Date.now(), Date.parse("2026-01-01T00:00:00Z"));
    const order: string[] = [];
    setTimeout(() => order.push("timeout"), 1_000);
    const interval = setInterval(() => order.push("interval"), 400);
    const signal = AbortSignal.timeout(900);
    signal.addEventListener("abort", () => order.push(`abort:${signal.reason.name}`));
    time.tick(999);
    assert.deepEqual(order, ["interval", "interval", "abort:TimeoutError"]);
    await time.tickAsync(1);
    assert.deepEqual(order, ["interval", "interval", "abort:TimeoutError", "timeout"]);
    clearInterval(interval);
    assert.equal(time.now - time.start, 1_000);
    assert.equal(time.pending, 0);
  }
  // `using` restored the real clock and timers.
  assert.ok(Date.now() >= realNow && Date.now() - realNow < 60_000);
  await delay(1);
});

Deno.test("FakeTime.next() and runAllAsync() step through timers and awaited work", async () => {
  using time = new FakeTime(0);
  const steps: number[] = [];
  const work = (async () => {
    await delay(100);
    steps.push(Date.now());
    await delay(50);
    steps.push(Date.now());
  })();
  assert.equal(await time.nextAsync(), true);
  assert.deepEqual(steps, [100]);
  await time.runAllAsync();
  await work;
  assert.deepEqual(steps, [100, 150]);
  assert.equal(time.next(), false, "nothing left to run");
});

Deno.test("FakeTime passes a 60 s request timeout and a 30 s reconnect wait in no wall time", async () => {
  const wallStart = performance.now();
  using time = new FakeTime();
  const transport = new MemoryTransport();
  transport.failOpens.push(new TransientError("down", { code: "network" }));
  const requester = new Requester({
    transport,
    responseNames: ["slow.job.response"],
    timeout: 60_000,
    reconnect: { min: 30_000, max: 30_000 },
  });
  const answer = requester.request("slow.job.request", {});
  answer.catch(() => {});
  await time.tickAsync(30_000);
  assert.equal(transport.opens.length, 2, "the listener reopened after its 30 s wait");
  await time.tickAsync(30_000);
  await assert.rejects(answer, RequestTimeoutError);
  await requester.close();
  assert.ok(performance.now() - wallStart < 1_000, "under a second of wall time");
});

Deno.test("FakeTime refuses a second fake clock and a restore when inactive", () => {
  const time = new FakeTime();
  try {
    assert.throws(() => new FakeTime(), TimeError);
  } finally {
    time.restore();
  }
  assert.throws(() => time.restore(), TimeError);
  assert.throws(() => new FakeTime("not a date"), RangeError);
  using later = new FakeTime(10);
  assert.throws(() => later.now = 5, RangeError);
  later.now = 20;
  assert.equal(Date.now(), 20);
});
