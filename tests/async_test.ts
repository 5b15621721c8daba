import assert from "node:assert/strict";
import { delay } from "../mod.ts";
import { linkAbort, settlesWithin, waitInLine, withDrainDeadline } from "../src/async.ts";
import { fakeTime } from "./_fake_time.ts";

Deno.test("delay() resolves after the given time and not before", async () => {
  using time = fakeTime();
  let done = false;
  const waiting = delay(500).then(() => done = true);
  await time.clock.tickAsync(499);
  assert.equal(done, false);
  await time.clock.tickAsync(1);
  await waiting;
  assert.equal(done, true);
});

Deno.test("delay() rejects with the signal's reason when aborted mid-wait", async () => {
  using time = fakeTime();
  const controller = new AbortController();
  const reason = new Error("stop");
  const waiting = delay(10_000, controller.signal);
  await time.clock.tickAsync(100);
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  assert.equal(time.clock.countTimers(), 0, "the timer is cleared");
});

Deno.test("delay() rejects at once when the signal has already aborted", async () => {
  const reason = new Error("already");
  await assert.rejects(delay(10, AbortSignal.abort(reason)), (error) => error === reason);
});

Deno.test("settlesWithin() tells whether work settled before the time ran out", async () => {
  using time = fakeTime();
  const fast = settlesWithin(delay(100), 500);
  await time.clock.tickAsync(100);
  assert.equal(await fast, true);
  const failing = settlesWithin(Promise.reject(new Error("counts as settled")), 500);
  assert.equal(await failing, true);
  const slow = settlesWithin(new Promise(() => {}), 500);
  await time.clock.tickAsync(500);
  assert.equal(await slow, false);
  assert.equal(time.clock.countTimers(), 0, "no timer is left behind");
});

Deno.test("linkAbort() forwards the reason and unlinks without leaving a listener", () => {
  const outer = new AbortController();
  const first = new AbortController();
  const unlinkFirst = linkAbort(outer.signal, first);
  unlinkFirst();
  const second = new AbortController();
  linkAbort(outer.signal, second);
  const reason = new Error("stop");
  outer.abort(reason);
  assert.equal(first.signal.aborted, false, "an unlinked controller is left alone");
  assert.equal(second.signal.reason, reason);
  const late = new AbortController();
  linkAbort(outer.signal, late);
  assert.equal(late.signal.reason, reason, "an already aborted signal aborts at once");
});

Deno.test("withDrainDeadline() starts its timer only once the signal aborts", async () => {
  using time = fakeTime();
  const stop = new AbortController();
  let finish!: (value: string) => void;
  const work = new Promise<string>((resolve) => finish = resolve);
  const result = withDrainDeadline(work, stop.signal, 1_000, () => "timed out");
  await time.clock.tickAsync(5_000);
  assert.equal(time.clock.countTimers(), 0, "no deadline before the abort");
  stop.abort();
  await time.clock.tickAsync(999);
  finish("done");
  assert.equal(await result, "done");
  assert.equal(time.clock.countTimers(), 0, "the deadline is cleared when work settles");

  const stuck = withDrainDeadline(new Promise<string>(() => {}), stop.signal, 1_000, () => "late");
  await time.clock.tickAsync(1_000);
  assert.equal(await stuck, "late");
});

Deno.test("waitInLine() resolves when its wake is called, in the order the waits joined", async () => {
  const line: Array<() => void> = [];
  const woken: number[] = [];
  const first = waitInLine(line).then(() => woken.push(1));
  const second = waitInLine(line, new AbortController().signal).then(() => woken.push(2));
  assert.equal(line.length, 2);
  line.shift()!();
  await first;
  assert.deepEqual(woken, [1]);
  line.shift()!();
  await second;
  assert.deepEqual(woken, [1, 2]);
});

Deno.test("waitInLine() leaves the line and rejects with the reason on abort; never joins once aborted", async () => {
  const line: Array<() => void> = [];
  const controller = new AbortController();
  const reason = new Error("stop");
  const kept = waitInLine(line);
  const abandoned = waitInLine(line, controller.signal);
  controller.abort(reason);
  await assert.rejects(abandoned, (error) => error === reason);
  assert.equal(line.length, 1, "the aborted wait left the line");
  await assert.rejects(waitInLine(line, controller.signal), (error) => error === reason);
  assert.equal(line.length, 1, "an aborted signal adds nothing");
  line.shift()!();
  await kept;
});
