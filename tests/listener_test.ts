import assert from "node:assert/strict";
import {
  AuthError,
  BadRequestError,
  type EventEnvelope,
  EventsClient,
  type EventSubscription,
  type EventTransport,
  listen,
  ListenerReadiness,
  type ListenOptions,
  type ReadinessChangeEvent,
  Requester,
  runWorker,
  TransientError,
} from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { prng } from "../src/testing/prng.ts";
import { fakeTime } from "./_fake_time.ts";
import { scriptedFetch, type Step } from "./_scripted_fetch.ts";
import { MemoryTransport } from "./_memory_transport.ts";

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
  await time.clock.tickAsync(200);
  assert.equal(script.requests.length, 5, "reconnected within 2·min, not after 800 ms");
  // random() = 1 draws the top of the band after a reset: [min, 2·min].
  assert.equal(script.requests[4]!.at - droppedAt, 200);
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
  // Each connection delivered an event: healthy, so each wait is [min, 2·min].
  await time.clock.tickAsync(200 + 200);
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

Deno.test("listen() delivers the events after an oversized one on the same connection", async () => {
  using time = fakeTime();
  const sse = (event: EventEnvelope) => `id: ${event.id}\ndata: ${JSON.stringify(event)}\n`;
  const poison = { ...ev("p"), payload: "x".repeat(5_000) };
  // The poison's id comes after its data: it must still become the resume point.
  const poisonBlock = `data: ${JSON.stringify(poison)}\nid: p\n`;
  const script = scriptedFetch([
    {
      headers: { "content-type": "text/event-stream" },
      events: [sse(ev("e1")), poisonBlock, sse(ev("e3")), poisonBlock],
      end: "cut",
    },
    { end: "hang" },
  ]);
  const client = new EventsClient({ baseUrl: BASE, fetch: script.fetch, maxLineBytes: 1024 });
  const invalid: string[] = [];
  const controller = new AbortController();
  const opts = options(client, { signal: controller.signal });
  opts.stream = { name: "demo.tick", onInvalid: (input) => invalid.push(input.kind) };
  const running = listen(opts);
  await time.clock.tickAsync(200);
  controller.abort();
  await running;
  assert.deepEqual(opts.seen.map((e) => e.id), ["e1", "e3"]);
  assert.deepEqual(invalid, ["too-large", "too-large"]);
  assert.deepEqual(
    script.requests.map((r) => r.headers.get("last-event-id")),
    [null, "p"],
    "one reconnect, after the cut, past the trailing poison",
  );
});

/** `count` short streams that each deliver one event, then end or break. */
function shortStreams(count: number, end: "eof" | "cut"): Step[] {
  return Array.from({ length: count }, (_, i) => ({ events: [ev(`s${i}`)], end }));
}

Deno.test("listen() waits min (jittered) after every short stream that delivered an event", async () => {
  using time = fakeTime();
  for (const end of ["eof", "cut"] as const) {
    const { script, client } = setup([...shortStreams(6, end), { end: "hang" }]);
    const controller = new AbortController();
    const opts = options(client, { signal: controller.signal });
    const running = listen(opts);
    await time.clock.tickAsync(6 * 200);
    controller.abort();
    await running;
    // Without the reset the waits would be 100, 200, 400, 800, 1000, 1000.
    assert.deepEqual(gaps(script.requests.map((r) => r.at)), Array(6).fill(200), end);
    assert.equal(opts.seen.length, 6, end);
  }
});

Deno.test("listen() resets the backoff after a clean end that followed the server's retry:", async () => {
  using time = fakeTime();
  const sse = { "content-type": "text/event-stream" };
  // Keepalive comments and a retry: hint, no event; the server ends each response.
  const step: Step = { headers: sse, events: [": keepalive", "retry: 50", ""], end: "eof" };
  const { script, client } = setup([step, step, step, step, { end: "hang" }]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(4 * 200);
  controller.abort();
  await running;
  assert.deepEqual(gaps(script.requests.map((r) => r.at)), [200, 200, 200, 200]);
});

Deno.test("listen() keeps growing the backoff when a server accepts and closes at once", async () => {
  using time = fakeTime();
  const { script, client } = setup([{ end: "eof" }]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(100 + 200 + 400 + 800 + 1000);
  controller.abort();
  await running;
  assert.deepEqual(gaps(script.requests.map((r) => r.at)), [100, 200, 400, 800, 1000]);
});

Deno.test("listen() keeps growing the backoff when a stream breaks after a retry: without events", async () => {
  using time = fakeTime();
  const sse = { "content-type": "text/event-stream" };
  const { script, client } = setup([{ headers: sse, events: ["retry: 50", ""], end: "cut" }]);
  const controller = new AbortController();
  const running = listen(options(client, { signal: controller.signal }));
  await time.clock.tickAsync(100 + 200 + 400);
  controller.abort();
  await running;
  assert.deepEqual(gaps(script.requests.map((r) => r.at)), [100, 200, 400]);
});

Deno.test("listen() loses no request when every stream is cut every 1.5 s (3 unicast workers and a requester)", async () => {
  using time = fakeTime();
  // The reference server in-process, so that fake time drives it too; the
  // listeners keep the default reconnect settings (1 s to 30 s, healthy
  // after 10 s), with a seeded jitter.
  const api = createEventsApi({ auth: false, heartbeatMs: 0 });
  const client = new EventsClient({ baseUrl: BASE, fetch: (request) => api.fetch(request) });
  const random = prng(13);
  const stop = new AbortController();
  const workers = ["w1", "w2", "w3"].map((consumer) =>
    runWorker({
      transport: client,
      names: ["demo.cut.request"],
      delivery: "unicast",
      group: "cut",
      consumer,
      concurrency: 8,
      random,
      signal: stop.signal,
      handler: (event, publisher) => publisher.reply({ n: event.payload }),
    })
  );
  const requester = new Requester({
    transport: client,
    responseNames: ["demo.cut.response"],
    // Shorter than the default 30 s, so that a backoff grown toward its
    // 30 s cap shows as lost requests within a 20 s run.
    timeout: 10_000,
    random,
  });
  await time.clock.tickAsync(10);
  assert.equal(api.stats.openStreams, 4);
  const cuts = setInterval(() => api.faults.dropStreams(), 1_500);
  let sent = 0;
  let answered = 0;
  const lost: unknown[] = [];
  const requests: Promise<void>[] = [];
  const sending = setInterval(() => {
    const n = sent++;
    requests.push(
      requester.request("demo.cut.request", n).then(
        (answer) => {
          assert.deepEqual(answer, { n });
          answered++;
        },
        (error) => {
          lost.push(error);
        },
      ),
    );
  }, 20);
  await time.clock.tickAsync(20_000);
  clearInterval(sending);
  clearInterval(cuts);
  await time.clock.tickAsync(12_000); // every request answered or timed out
  await Promise.all(requests);
  assert.ok(sent >= 999, `${sent} requests`);
  assert.equal(lost.length, 0, `${lost.length} of ${sent} lost: ${lost[0]}`);
  assert.equal(answered, sent);
  stop.abort();
  await requester.close();
  await time.clock.tickAsync(0);
  await Promise.all(workers);
  await api.close();
});

Deno.test("listen() reads a subscription without nextBatch() one next() at a time", async () => {
  const script = scriptedFetch([{ events: [ev("a"), ev("b")], end: "eof" }]);
  const client = new EventsClient({ baseUrl: BASE, fetch: script.fetch });
  const settled: Array<string | undefined> = [];
  const transport: EventTransport = {
    canRefreshCredentials: false,
    publish: (event, publishOptions) => client.publish(event, publishOptions),
    close: () => client.close(),
    async open(streamOptions) {
      const stream = await client.open(streamOptions);
      // Everything of the subscription but its optional nextBatch().
      const subscription: EventSubscription = {
        get lastEventId() {
          return stream.lastEventId;
        },
        get reconnectHint() {
          return stream.reconnectHint;
        },
        redelivers: false,
        attempt: (event) => stream.attempt(event),
        settle: (event, settlement) => {
          settled.push(event.id);
          return stream.settle(event, settlement);
        },
        working: (event) => stream.working(event),
        close: () => stream.close(),
        next: () => stream.next(),
        return: () => stream.return!(),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return subscription;
    },
  };
  const seen: Array<string | undefined> = [];
  await listen({
    transport,
    stream: { name: "demo.tick", follow: false },
    onEvent: (event) => {
      seen.push(event.id);
    },
    reconnect: false,
  });
  assert.deepEqual(seen, ["a", "b"]);
  assert.deepEqual(settled, ["a", "b"]);
  assert.equal(script.open, 0);
});

Deno.test("listen() rejects with RangeError before opening when reconnect bounds are unusable", async () => {
  const transport = new MemoryTransport();
  await assert.rejects(
    listen({
      transport,
      stream: { name: "example.bad.reconnect" },
      reconnect: { min: 2000, max: 1000 },
      onEvent: () => {},
    }),
    { name: "RangeError", message: /reconnect max/ },
  );
  assert.equal(transport.opens.length, 0);
});
