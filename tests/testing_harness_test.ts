import assert from "node:assert/strict";
import { defineWorker, HANDLER_FAILED, ResponseError } from "../mod.ts";
import { testWorker } from "../testing.ts";
import { until } from "./_poll.ts";

const greeter = defineWorker({
  name: "greeter",
  names: ["harness.greet.request"],
  delivery: "unicast",
  handler: async (event, publisher) => {
    const { name } = event.payload as { name?: string };
    if (!name) throw new Error("payload.name is empty");
    await publisher.publish("harness.greeted", { name });
    await publisher.reply({ greeting: `Hello, ${name}!` });
  },
});

Deno.test("testWorker() runs a registration in process and answers requests", async () => {
  await using worker = await testWorker(greeter);
  assert.equal(worker.readiness.ready, true);
  assert.deepEqual(await worker.request("harness.greet.request", { name: "Ada" }), {
    greeting: "Hello, Ada!",
  });
  await assert.rejects(
    worker.request("harness.greet.request", {}),
    (error) => error instanceof ResponseError && error.code === HANDLER_FAILED,
  );
  const greeted = await worker.events("harness.greeted");
  assert.deepEqual(greeted.map((e) => e.payload), [{ name: "Ada" }]);
  assert.equal(greeted[0]!.source, "greeter", "the registration's default source");
  assert.equal(worker.stats.handled, 1);
  assert.equal(worker.stats.failed, 1);
  // Two requests, their two answers, the one free event, and the failed
  // request's dead letter.
  assert.equal(worker.api.stats.published, 6);
  const [dead] = await worker.events("harness.greet.request.dead-letter");
  assert.equal((dead!.payload as { attempts: number }).attempts, 1);
});

Deno.test("testWorker() delivers published events and stops cleanly", async () => {
  const seen: unknown[] = [];
  const audit = defineWorker({
    name: "audit",
    names: ["harness.audit"],
    handler: (event) => {
      seen.push(event.payload);
    },
  });
  const worker = await testWorker(audit);
  await worker.publish("harness.audit", 1);
  await worker.publish("harness.audit", 2);
  await until(() => worker.stats.handled === 2);
  await worker.close();
  await worker.close();
  assert.deepEqual(seen, [1, 2]);
  assert.equal(worker.readiness.ready, false);
});

Deno.test("testWorker() rejects with the registration's own failure", async () => {
  const broken = defineWorker({
    name: "broken",
    run: () => {
      throw new Error("cannot start");
    },
  });
  await assert.rejects(testWorker(broken), /cannot start/);
});
