import assert from "node:assert/strict";
import { Slots } from "../src/slots.ts";

Deno.test("Slots.acquire() waits while every slot is held, first come first served", async () => {
  const slots = new Slots(2);
  await slots.acquire();
  await slots.acquire();
  const order: number[] = [];
  const third = slots.acquire().then(() => order.push(3));
  const fourth = slots.acquire().then(() => order.push(4));
  await Promise.resolve();
  assert.deepEqual(order, []);
  slots.release();
  await third;
  assert.deepEqual(order, [3]);
  slots.release();
  await fourth;
  assert.deepEqual(order, [3, 4]);
  assert.equal(slots.inUse, 2);
});

Deno.test("Slots.acquire() rejects with the abort reason and gives up its place", async () => {
  const slots = new Slots(1);
  await slots.acquire();
  const controller = new AbortController();
  const reason = new Error("stop");
  const waiting = slots.acquire(controller.signal);
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  slots.release();
  assert.equal(slots.inUse, 0, "the aborted waiter took no slot");
});

Deno.test("Slots.idle() resolves once every slot is released", async () => {
  const slots = new Slots(3);
  await slots.idle();
  await slots.acquire();
  await slots.acquire();
  let idle = false;
  const waiting = slots.idle().then(() => idle = true);
  slots.release();
  await Promise.resolve();
  assert.equal(idle, false);
  slots.release();
  await waiting;
  assert.equal(idle, true);
});

Deno.test("Slots rejects a size that is not a positive integer", () => {
  assert.throws(() => new Slots(0), RangeError);
  assert.throws(() => new Slots(1.5), /expected an integer >= 1/);
});
