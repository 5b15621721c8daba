import assert from "node:assert/strict";
import {
  AuthError,
  BadRequestError,
  type EventEnvelope,
  EventsClient,
  listen,
  ListenerReadiness,
  type ListenOptions,
  type ReadinessChangeEvent,
  TransientError,
} from "../mod.ts";
import { fakeTime } from "./_fake_time.ts";
import { scriptedFetch, type Step } from "./_scripted_fetch.ts";

const BASE = "http://events.test";
const ev = (id: string): EventEnvelope => ({ id, name: "demo.tick", payload: { id } });

function setup(steps: Step[], token: ListenOptionsToken = "static-token") {
  const script = scriptedFetch(steps);
  const client = new EventsClient({ baseUrl: BASE, token, fetch: script.fetch });
  return { script, client };
}
type ListenOptionsToken = ConstructorParameters<typeof EventsClient>[0]["token"];

function options(
  client: EventsClient,
  extra: Partial<ListenOptions> = {},
): ListenOptions & { seen: EventEnvelope[] } {
  const seen: EventEnvelope[] = [];
  return {
    transport: client,
    stream: { name: "demo.tick" },
    onEvent: (event) => {
      seen.push(event);
    },
    reconnect: { min: 100, max: 1000, healthyAfter: 10_000 },
    random: () => 1,
    seen,
    ...extra,
  };
}

/** Gaps between consecutive requests: the waits the listener chose. */
function gaps(at: number[]): number[] {
  return at.slice(1).map((t, i) => t - at[i]!);
}

Deno.test("listen() waits min, then doubles up to max between failed attempts", async () => {
  using time = fakeTime();
  const { script, client } = setup([{ status: 503 }]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(100 + 200 + 400 + 800 + 1000 + 1000);
  controller.abort();
  await running;
  assert.deepEqual(gaps(script.requests.map((r) => r.at)), [100, 200, 400, 800, 1000, 1000]);
});

Deno.test("listen() draws each wait from the jitter band of a seeded source", async () => {
  using time = fakeTime();
  const { script, client } = setup([{ status: 503 }]);
  const controller = new AbortController();
  const draws = [0.5, 0.25, 0.9, 0.1];
  let n = 0;
  const running = listen(options(client, {
    signal: controller.signal,
    random: () => draws[n++]!,
  }));
  await time.clock.tickAsync(100 + 125 + 370 + 170);
  controller.abort();
  await running;
  assert.deepEqual(gaps(script.requests.map((r) => r.at)), [100, 125, 370, 170]);
});

Deno.test("listen() resets the backoff after a stream that stayed healthy", async () => {
  using time = fakeTime();
  const { script, client } = setup([
    { status: 503 },
    { status: 503 },
    { status: 503 },
    { end: "hang" },
    { end: "hang" },
  ]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(100 + 200 + 400); // three failures; the fourth attempt opens
  assert.equal(script.requests.length, 4);
  await time.clock.tickAsync(10_000); // open for healthyAfter
  script.dropAll();
  const droppedAt = Date.now();
  await time.clock.tickAsync(100);
  assert.equal(script.requests.length, 5, "reconnected after min, not after 800 ms");
  assert.equal(script.requests[4]!.at - droppedAt, 100);
  controller.abort();
  await running;
});

Deno.test("listen() keeps growing the backoff after a stream that died young", async () => {
  using time = fakeTime();
  const { script, client } = setup([
    { status: 503 },
    { status: 503 },
    { status: 503 },
    { end: "hang" },
    { end: "hang" },
  ]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(100 + 200 + 400);
  await time.clock.tickAsync(5_000); // shorter than healthyAfter
  script.dropAll();
  const droppedAt = Date.now();
  await time.clock.tickAsync(800);
  assert.equal(script.requests.length, 5);
  assert.equal(script.requests[4]!.at - droppedAt, 800);
  controller.abort();
  await running;
});

Deno.test("listen() waits for Retry-After when it is longer than the backoff", async () => {
  using time = fakeTime();
  const { script, client } = setup([
    { status: 503, headers: { "retry-after": "7" } },
    { status: 429, headers: { "retry-after": "0" } },
    { end: "hang" },
  ]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(7_000 + 200);
  assert.deepEqual(gaps(script.requests.map((r) => r.at)), [7_000, 200]);
  controller.abort();
  await running;
});

Deno.test("listen() turns readiness false before each wait and true after reconnect", async () => {
  using time = fakeTime();
  const { script, client } = setup([
    { end: "hang" },
    { status: 503 },
    { end: "hang" },
  ]);
  const readiness = new ListenerReadiness();
  const flips: Array<[number, boolean, string]> = [];
  readiness.addEventListener("change", (event: ReadinessChangeEvent) => {
    flips.push([time.elapsed, event.ready, event.reason]);
  });
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal, readiness }));
  await time.clock.tickAsync(1_000);
  script.dropAll();
  await time.clock.tickAsync(0);
  // Not ready at the moment of the drop, before any wait.
  assert.deepEqual(flips.at(-1)?.slice(0, 2), [1_000, false]);
  await time.clock.tickAsync(100 + 200);
  controller.abort();
  await running;
  assert.deepEqual(flips.map(([at, ready]) => [at, ready]), [
    [0, true],
    [1_000, false],
    [1_300, true],
    [1_300, false],
  ]);
  assert.match(flips[1]![2], /disconnected|TransientError/);
  assert.match(flips[3]![2], /stopped/);
});

Deno.test("listen() ends promptly when aborted during a reconnect wait", async () => {
  using time = fakeTime();
  const { script, client } = setup([{ status: 503 }]);
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  let ended = false;
  const running = listen(options(client, {
    signal: controller.signal,
    readiness,
    reconnect: { min: 60_000, max: 60_000 },
  })).then(() => ended = true);
  await time.clock.tickAsync(10);
  controller.abort(new Error("shutdown"));
  await time.clock.tickAsync(0);
  assert.equal(ended, true);
  await running;
  assert.equal(script.requests.length, 1);
  assert.equal(time.clock.countTimers(), 0, "no wait is left behind");
});

Deno.test("listen() resumes with Last-Event-ID of the last envelope seen", async () => {
  using time = fakeTime();
  const { script, client } = setup([
    { events: [ev("e1"), ev("e2")], end: "cut" },
    { events: [ev("e3")], end: "eof" },
    { end: "hang" },
  ]);
  const controller = new AbortController();
  const opts = options(client, { signal: controller.signal });
  const running = listen(opts);
  await time.clock.tickAsync(100 + 200);
  controller.abort();
  await running;
  assert.deepEqual(opts.seen.map((e) => e.id), ["e1", "e2", "e3"]);
  assert.deepEqual(script.requests.map((r) => r.headers.get("last-event-id")), [
    null,
    "e2",
    "e3",
  ]);
});

Deno.test("listen() fails fast with AuthError on 401 without token refresh", async () => {
  using _time = fakeTime();
  const { script, client } = setup([{ status: 401 }, { end: "hang" }]);
  await assert.rejects(listen(options(client)), AuthError);
  assert.equal(script.requests.length, 1);
});

Deno.test("listen() fails fast on 403 when the token is a string even with refresh on", async () => {
  using _time = fakeTime();
  const { script, client } = setup([{ status: 403 }, { end: "hang" }]);
  await assert.rejects(listen(options(client, { tokenRefresh: true })), AuthError);
  assert.equal(script.requests.length, 1);
});

Deno.test("listen() asks the provider for a fresh token after 401 when refresh is on", async () => {
  using time = fakeTime();
  const asked: boolean[] = [];
  const { script, client } = setup([{ status: 401 }, { end: "hang" }], ({ refresh }) => {
    asked.push(refresh);
    return refresh ? "fresh-token" : "stale-token";
  });
  const controller = new AbortController();
  const readiness = new ListenerReadiness();
  const running = listen(
    options(client, { signal: controller.signal, tokenRefresh: true, readiness }),
  );
  await time.clock.tickAsync(100);
  assert.equal(readiness.ready, true);
  controller.abort();
  await running;
  assert.deepEqual(asked, [false, true]);
  assert.deepEqual(script.requests.map((r) => r.headers.get("authorization")), [
    "Bearer stale-token",
    "Bearer fresh-token",
  ]);
});

Deno.test("listen() ends with BadRequestError on 400, which is permanent", async () => {
  using _time = fakeTime();
  const { script, client } = setup([{ status: 400 }, { end: "hang" }]);
  await assert.rejects(listen(options(client)), BadRequestError);
  assert.equal(script.requests.length, 1);
});

Deno.test("listen() with retry off ends at the first failure with that error", async () => {
  using _time = fakeTime();
  const { script, client } = setup([{ status: 503 }, { end: "hang" }]);
  await assert.rejects(listen(options(client, { reconnect: false })), TransientError);
  const cut = setup([{ events: [ev("a")], end: "cut" }]);
  await assert.rejects(listen(options(cut.client, { reconnect: false })), /connection broke/);
  assert.equal(script.requests.length, 1);
});

Deno.test("listen() with follow=false resolves when the snapshot ends", async () => {
  const { script, client } = setup([{ events: [ev("a"), ev("b")], end: "eof" }]);
  const opts = options(client, { stream: { name: "demo.tick", replay: true, follow: false } });
  await listen(opts);
  assert.deepEqual(opts.seen.map((e) => e.id), ["a", "b"]);
  assert.equal(script.requests.length, 1);
});

Deno.test("listen() rejects with the callback's error and closes the stream", async () => {
  const { script, client } = setup([{ events: [ev("a")], end: "hang" }]);
  const bug = new Error("bug in callback");
  await assert.rejects(
    listen(options(client, { onEvent: () => Promise.reject(bug) })),
    (error) => error === bug,
  );
  assert.equal(script.open, 0);
});
