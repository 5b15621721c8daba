/**
 * Requester timing and bookkeeping under fake time, with a scripted Events
 * API (the response stream stays open; publishes are accepted).
 */
import assert from "node:assert/strict";
import { EventsClient, Requester, RequestTimeoutError } from "../mod.ts";
import { fakeTime } from "./_fake_time.ts";
import { scriptedFetch, type Step } from "./_scripted_fetch.ts";

function setup(steps: Step[] = [{ end: "hang" }]) {
  const script = scriptedFetch(steps);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const requester = new Requester({
    transport: client,
    responseNames: ["demo.job.response"],
    timeout: 1_000,
    maxPending: 3,
    reconnect: { min: 100, max: 100 },
  });
  const publishes = () => script.requests.filter((r) => r.method === "POST");
  return { script, client, requester, publishes };
}

Deno.test("Requester.request() times out at its deadline and frees the entry", async () => {
  using time = fakeTime();
  const { requester } = setup();
  await time.clock.tickAsync(0);
  let outcome: unknown;
  const pending = requester.request("demo.job.request", {}).catch((e) => outcome = e);
  const short = requester.request("demo.job.request", {}, { timeout: 300 }).catch((e) => e);
  await time.clock.tickAsync(299);
  assert.equal(requester.stats.pending, 2);
  await time.clock.tickAsync(1);
  const shortError = await short;
  assert.ok(shortError instanceof RequestTimeoutError);
  assert.equal(shortError.timeout, 300);
  assert.equal(requester.stats.pending, 1);
  await time.clock.tickAsync(699);
  assert.equal(outcome, undefined);
  await time.clock.tickAsync(1);
  await pending;
  assert.ok((outcome as unknown) instanceof RequestTimeoutError);
  assert.match(String(outcome), /none arrived within 1000 ms/);
  assert.equal(requester.stats.pending, 0);
  assert.equal(requester.stats.timedOut, 2);
  await requester.close();
  assert.equal(time.clock.countTimers(), 0, "no timer outlives its request");
});

Deno.test("Requester.request() does not publish before the response listener is up", async () => {
  using time = fakeTime();
  const { requester, publishes } = setup([{ status: 503 }, { status: 503 }, { end: "hang" }]);
  const answer = requester.request("demo.job.request", { n: 1 }).catch((e) => e);
  await time.clock.tickAsync(150);
  assert.equal(requester.readiness.ready, false);
  assert.equal(publishes().length, 0, "held back while not ready");
  await time.clock.tickAsync(100);
  assert.equal(requester.readiness.ready, true);
  assert.equal(publishes().length, 1);
  const body = JSON.parse(publishes()[0]!.body);
  assert.equal(body.name, "demo.job.request");
  assert.match(body.correlationId, /^[0-9a-f-]{36}$/);
  await requester.close();
  await answer;
});

Deno.test("Requester.request() times out when the listener never comes up", async () => {
  using time = fakeTime();
  const { requester, publishes } = setup([{ status: 503 }]);
  const answer = requester.request("demo.job.request", {}).catch((e) => e);
  await time.clock.tickAsync(1_000);
  assert.ok(await answer instanceof RequestTimeoutError);
  assert.equal(publishes().length, 0);
  await requester.close();
});

Deno.test("Requester.request() rejects with the abort reason and frees the entry", async () => {
  using time = fakeTime();
  const { requester } = setup();
  await time.clock.tickAsync(0);
  const controller = new AbortController();
  const reason = new Error("user cancelled");
  const answer = requester.request("demo.job.request", {}, { signal: controller.signal });
  await time.clock.tickAsync(10);
  controller.abort(reason);
  await assert.rejects(answer, (e) => e === reason);
  assert.equal(requester.stats.pending, 0);
  await assert.rejects(
    requester.request("demo.job.request", {}, { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  await requester.close();
  assert.equal(time.clock.countTimers(), 0);
});

Deno.test("Requester.request() rejects at once beyond maxPending", async () => {
  using time = fakeTime();
  const { requester } = setup();
  await time.clock.tickAsync(0);
  const held = [1, 2, 3].map(() => requester.request("demo.job.request", {}).catch((e) => e));
  await assert.rejects(requester.request("demo.job.request", {}), /3 requests are pending/);
  assert.equal(requester.stats.pending, 3);
  await requester.close();
  await Promise.all(held);
});

Deno.test("Requester.close() rejects everything pending with a clear error", async () => {
  using time = fakeTime();
  const { requester, script } = setup();
  await time.clock.tickAsync(0);
  const answers = [1, 2].map(() => requester.request("demo.job.request", {}).catch((e) => e));
  await requester.close();
  for (const error of await Promise.all(answers)) {
    assert.match(String(error), /requester is closed/);
  }
  assert.equal(requester.stats.pending, 0);
  assert.equal(requester.readiness.ready, false);
  assert.equal(script.open, 0, "response stream released");
  await assert.rejects(requester.request("demo.job.request", {}), /requester is closed/);
  assert.equal(time.clock.countTimers(), 0);
});

Deno.test("Requester rejects pending requests when the response listener fails fatally", async () => {
  using time = fakeTime();
  const { requester } = setup([{ status: 401 }]);
  const answer = requester.request("demo.job.request", {}, { timeout: 60_000 }).catch((e) => e);
  await time.clock.tickAsync(0);
  assert.equal((await answer as Error).name, "AuthError");
  assert.equal(requester.stats.pending, 0);
  await assert.rejects(requester.request("demo.job.request", {}), { name: "AuthError" });
  await requester.close();
  assert.equal(time.clock.countTimers(), 0);
});

Deno.test("Requester rejects bad options up front", () => {
  const client = new EventsClient({ baseUrl: "http://bus.test" });
  assert.throws(
    () => new Requester({ transport: client, responseNames: [] }),
    /responseNames is empty/,
  );
  assert.throws(() => new Requester({ transport: client, responseNames: ["Bad"] }), TypeError);
  assert.throws(
    () => new Requester({ transport: client, responseNames: ["a.b"], timeout: 0 }),
    /timeout: current value is 0/,
  );
});

Deno.test("Requester counts a response to any request of its own that settled as late, a stranger's as unknown", async () => {
  const { MemoryTransport } = await import("./_memory_transport.ts");
  const { until } = await import("./_poll.ts");
  const transport = new MemoryTransport();
  await using req = new Requester({ transport, responseNames: ["ring.test.response"] });
  await using other = new Requester({ transport, responseNames: ["other.test.response"] });
  await req.readiness.waitReady();
  await other.readiness.waitReady();
  const controller = new AbortController();
  const count = 5_000;
  const requests = Array.from(
    { length: count },
    () => req.request("ring.test.request", null, { signal: controller.signal }).catch(() => {}),
  );
  const strangers = other.request("other.test.request", null, { signal: controller.signal })
    .catch(() => {});
  await until(() => transport.published.length === count + 1, 5_000, "every request published");
  controller.abort(new Error("stop"));
  await Promise.all([...requests, strangers]);
  const ids = transport.published.filter((event) => event.name === "ring.test.request")
    .map((event) => event.correlationId!);
  const strangersId = transport.published.find((event) => event.name === "other.test.request")!
    .correlationId!;
  // Every ID is a version 4 UUID, and one requester's share their first group.
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.ok([...ids, strangersId].every((id) => uuid.test(id)), ids[0]);
  assert.equal(new Set(ids).size, count);
  assert.equal(new Set(ids.map((id) => id.slice(0, 9))).size, 1);
  // The oldest, one in the middle and the newest: late, however many settled since.
  for (const correlationId of [ids[0]!, ids[2_500]!, ids[count - 1]!]) {
    await transport.publish({ name: "ring.test.response", correlationId, payload: null });
  }
  // Another requester's ID, a random one, and none at all: strangers'.
  for (const correlationId of [strangersId, crypto.randomUUID(), undefined]) {
    await transport.publish({ name: "ring.test.response", correlationId, payload: null });
  }
  await until(() => req.stats.late + req.stats.unknown === 6, 5_000, "every response seen");
  assert.deepEqual({ late: req.stats.late, unknown: req.stats.unknown }, { late: 3, unknown: 3 });
});
