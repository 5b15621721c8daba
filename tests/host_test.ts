/**
 * Host against the reference server over loopback: registrations sharing
 * one client, aggregate readiness, fail-together, health endpoints; and the
 * drain deadline of `run()` registrations under fake time.
 */
import assert from "node:assert/strict";
import {
  AuthError,
  defineWorker,
  type EventEnvelope,
  Host,
  type HostReport,
  type ReadinessChangeEvent,
  RegistrationError,
  runWorker,
  type WorkerRegistration,
} from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer, type TestServer } from "./_server.ts";
import { fakeTime, settle } from "./_fake_time.ts";

const FAST_RETRY = { min: 10, max: 50 };

/** A promise with its resolver, for gating registrations from the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => open = resolve);
  return { promise, open };
}

/** A handler registration that records the payloads it sees. */
function recorder(name: string, seen: unknown[], extra: Partial<WorkerRegistration> = {}) {
  return defineWorker({
    name,
    names: [`tests.${name}.request`],
    reconnect: FAST_RETRY,
    handler: (event: EventEnvelope) => {
      seen.push(event.payload);
    },
    ...extra,
  } as WorkerRegistration);
}

/** Starts `host.run()` in the background and remembers whether it settled. */
function start(host: Host) {
  let settled = false;
  const done = host.run().finally(() => settled = true);
  done.catch(() => {}); // observed by the test through `done`
  return {
    done,
    get settled() {
      return settled;
    },
  };
}

/** GETs `path` from the host's fetch handler and parses the body. */
async function probe(host: Host, path: string, method = "GET") {
  const response = await host.fetch(new Request(`http://host.test${path}`, { method }));
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? undefined : JSON.parse(text) as HostReport,
  };
}

function stateOf(host: Host, name: string) {
  return host.report().registrations.find((r) => r.name === name)?.state;
}

async function publishTo(server: TestServer, name: string, count: number) {
  for (let i = 0; i < count; i++) {
    await server.client.publish({ name: `tests.${name}.request`, payload: `${name}-${i}` });
  }
}

Deno.test("Host.run() runs three registrations on one client and each handles its own events", async () => {
  await using server = await startServer();
  const seen = { a: [] as unknown[], b: [] as unknown[], c: [] as unknown[] };
  const controller = new AbortController();
  const host = new Host({
    transport: server.client,
    registrations: [recorder("a", seen.a), recorder("b", seen.b), recorder("c", seen.c)],
    signal: controller.signal,
  });
  const running = start(host);
  await host.readiness.waitReady();
  assert.equal(server.api.stats.openStreams, 3);
  for (const name of ["a", "b", "c"] as const) await publishTo(server, name, 5);
  await until(() => seen.a.length + seen.b.length + seen.c.length === 15, 5_000, "15 handled");
  controller.abort();
  await running.done;
  assert.deepEqual(seen.a, ["a-0", "a-1", "a-2", "a-3", "a-4"]);
  assert.deepEqual(seen.b, ["b-0", "b-1", "b-2", "b-3", "b-4"]);
  assert.deepEqual(seen.c, ["c-0", "c-1", "c-2", "c-3", "c-4"]);
  const report = host.report();
  assert.equal(report.status, "stopped");
  assert.equal(report.ready, false);
  assert.deepEqual(
    report.registrations.map((r) => [r.name, r.state, r.handled]),
    [["a", "stopped", 5], ["b", "stopped", 5], ["c", "stopped", 5]],
  );
});

Deno.test("Host.readiness turns true only once every required registration is ready", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const release = gate();
  const host = new Host({
    transport: server.client,
    registrations: [
      recorder("a", []),
      recorder("b", []),
      // Required, ready only when the test says so.
      defineWorker({
        name: "gated",
        run: async ({ readiness, signal }) => {
          await release.promise;
          readiness.set(true, "gate opened");
          await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        },
      }),
      // Never ready, but not required: must not hold the host back.
      defineWorker({
        name: "optional",
        required: false,
        run: ({ signal }) =>
          new Promise((resolve) =>
            signal.addEventListener("abort", () => resolve(), { once: true })
          ),
      }),
    ],
    signal: controller.signal,
  });
  const flips: Array<[boolean, string]> = [];
  host.readiness.addEventListener(
    "change",
    (e: ReadinessChangeEvent) => flips.push([e.ready, e.reason]),
  );
  const running = start(host);
  await host.readinessOf("a").waitReady();
  await host.readinessOf("b").waitReady();
  assert.equal(host.readiness.ready, false, "not ready while gated is starting");
  assert.equal(stateOf(host, "gated"), "starting");
  assert.equal(flips.length, 0);
  release.open();
  await host.readiness.waitReady();
  assert.deepEqual(flips, [[true, "gate opened"]]);
  assert.equal(stateOf(host, "optional"), "starting");
  controller.abort();
  await running.done;
  assert.deepEqual(flips.map(([ready]) => ready), [true, false]);
});

Deno.test("Host.run() rejects naming a registration whose stream gets 401, after the others drained", async () => {
  await using server = await startServer();
  const slowStarted = gate();
  const slowRelease = gate();
  const startBad = gate();
  const slowDone: unknown[] = [];
  const badClient = server.newClient({ token: "not-a-valid-token" });
  const host = new Host({
    transport: server.client,
    registrations: [
      defineWorker({
        name: "slow",
        names: ["tests.slow.request"],
        handler: async (event) => {
          slowStarted.open();
          await slowRelease.promise;
          slowDone.push(event.payload);
        },
      }),
      recorder("steady", []),
      defineWorker({
        name: "bad",
        required: false,
        run: async ({ signal, readiness }) => {
          await startBad.promise;
          await runWorker({
            transport: badClient,
            names: ["tests.bad.request"],
            handler: () => {},
            readiness,
            signal,
          });
        },
      }),
    ],
  });
  const running = start(host);
  await host.readiness.waitReady();
  await server.client.publish({ name: "tests.slow.request", payload: "in flight" });
  await slowStarted.promise;
  startBad.open();
  await until(() => host.status === "stopping", 5_000, "host stopping");
  await until(() => stateOf(host, "steady") === "stopped", 5_000, "steady stopped");
  assert.equal(running.settled, false, "run() waits for the in-flight handler");
  assert.equal(stateOf(host, "bad"), "failed");
  assert.equal((await probe(host, "/healthz")).status, 200, "alive while draining");
  const during = await probe(host, "/readyz");
  assert.equal(during.body?.registrations.find((r) => r.name === "slow")?.inFlight, 1);

  slowRelease.open();
  await assert.rejects(running.done, (error) => {
    assert.ok(error instanceof RegistrationError);
    assert.equal(error.registration, "bad");
    assert.ok(error.cause instanceof AuthError);
    assert.equal((error.cause as AuthError).status, 401);
    assert.match(error.message, /"bad".*401/);
    return true;
  });
  assert.deepEqual(slowDone, ["in flight"]);
  assert.equal((await probe(host, "/healthz")).status, 503);
  const after = await probe(host, "/readyz");
  assert.equal(after.status, 503);
  assert.equal(after.body?.status, "failed");
  assert.deepEqual(
    after.body?.registrations.map((r) => [r.name, r.state]),
    [["slow", "stopped"], ["steady", "stopped"], ["bad", "failed"]],
  );
  assert.match(after.body?.registrations[2]?.lastError ?? "", /AuthError.*401/);
  assert.equal(after.body?.registrations[0]?.handled, 1);
});

Deno.test("Host.run() fails when a listener registration on the shared client gets 401 on reconnect", async () => {
  await using server = await startServer();
  let idleStopped = false;
  const host = new Host({
    transport: server.client,
    registrations: [
      recorder("listener", []),
      defineWorker({
        name: "idle",
        required: false,
        run: async ({ signal }) => {
          await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
          idleStopped = true;
        },
      }),
    ],
  });
  const running = start(host);
  await host.readiness.waitReady();
  server.api.faults.failNext("stream", { status: 401 });
  assert.equal(server.api.faults.dropStreams(), 1);
  await assert.rejects(
    running.done,
    (error) =>
      error instanceof RegistrationError && error.registration === "listener" &&
      error.cause instanceof AuthError,
  );
  assert.equal(idleStopped, true, "the other registration was stopped and returned");
  assert.equal(stateOf(host, "idle"), "stopped");
});

Deno.test("Host.fetch() answers /healthz and /readyz through idle, starting, ready, reconnecting and stopped", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const release = gate();
  const host = new Host({
    transport: server.client,
    registrations: [
      recorder("listener", [], { reconnect: { min: 300, max: 300 } }),
      defineWorker({
        name: "gated",
        run: async ({ readiness, signal }) => {
          await release.promise;
          readiness.set(true, "gate opened");
          await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        },
      }),
    ],
    signal: controller.signal,
  });

  // idle: constructed, not running
  let health = await probe(host, "/healthz");
  let ready = await probe(host, "/readyz");
  assert.equal(health.status, 503);
  assert.equal(ready.status, 503);
  assert.equal(health.body?.status, "idle");

  // starting: running, one required registration not ready
  const running = start(host);
  await host.readinessOf("listener").waitReady();
  health = await probe(host, "/healthz");
  ready = await probe(host, "/readyz");
  assert.equal(health.status, 200);
  assert.equal(ready.status, 503);
  assert.deepEqual(ready.body, {
    status: "running",
    ready: false,
    reason: 'registration "gated" is starting: not started',
    transport: String(server.client),
    registrations: [
      {
        name: "listener",
        state: "ready",
        required: true,
        url: server.client.url,
        handled: 0,
        failed: 0,
        inFlight: 0,
        dropped: 0,
        duplicates: 0,
        retried: 0,
        deadLettered: 0,
        deadLetterFailed: 0,
        recentDeadLetters: [],
        lastError: null,
        reason: "stream open",
      },
      {
        name: "gated",
        state: "starting",
        required: true,
        url: server.client.url,
        handled: 0,
        failed: 0,
        inFlight: 0,
        dropped: 0,
        duplicates: 0,
        retried: 0,
        deadLettered: 0,
        deadLetterFailed: 0,
        recentDeadLetters: [],
        lastError: null,
        reason: "not started",
      },
    ],
  });

  // ready
  release.open();
  await host.readiness.waitReady();
  ready = await probe(host, "/readyz");
  assert.equal(ready.status, 200);
  assert.equal(ready.body?.ready, true);
  assert.deepEqual(ready.body?.registrations.map((r) => r.state), ["ready", "ready"]);
  const head = await probe(host, "/readyz", "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.body, undefined);

  // reconnecting: the listener's stream dropped, it waits 300 ms to reconnect
  server.api.faults.dropStreams();
  await until(() => stateOf(host, "listener") === "reconnecting", 5_000, "reconnecting");
  assert.equal((await probe(host, "/readyz")).status, 503);
  assert.equal((await probe(host, "/healthz")).status, 200);
  await host.readiness.waitReady();
  assert.equal((await probe(host, "/readyz")).status, 200);

  // other paths and methods
  assert.equal((await probe(host, "/nope")).status, 404);
  assert.equal((await probe(host, "/healthz/extra")).status, 404);
  const post = await host.fetch(new Request("http://host.test/readyz", { method: "POST" }));
  await post.body?.cancel();
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");

  // stopped
  controller.abort();
  await running.done;
  health = await probe(host, "/healthz");
  ready = await probe(host, "/readyz");
  assert.equal(health.status, 503);
  assert.equal(ready.status, 503);
  assert.equal(health.body?.status, "stopped");
  assert.deepEqual(ready.body?.registrations.map((r) => r.state), ["stopped", "stopped"]);
});

Deno.test("Host.fetch() serves over HTTP when mounted on a server", async () => {
  await using server = await startServer();
  const controller = new AbortController();
  const host = new Host({
    transport: server.client,
    registrations: [recorder("listener", [])],
    signal: controller.signal,
  });
  const running = start(host);
  const { serve } = await import("srvx");
  const http = serve({ fetch: host.fetch, hostname: "127.0.0.1", port: 0, silent: true });
  try {
    await http.ready();
    await host.readiness.waitReady();
    const response = await fetch(new URL("/readyz", http.url));
    const body = await response.json() as HostReport;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(body.registrations[0]?.name, "listener");
  } finally {
    await http.close(true);
    controller.abort();
    await running.done;
  }
});

Deno.test("new Host() rejects duplicate registration names before anything starts", async () => {
  await using server = await startServer();
  let called = 0;
  const registration = defineWorker({
    name: "dup",
    run: () => {
      called++;
    },
  });
  assert.throws(
    () =>
      new Host({ transport: server.client, registrations: [registration, recorder("dup", [])] }),
    (error) =>
      error instanceof TypeError &&
      /registration name "dup" is used more than once/.test(error.message),
  );
  assert.throws(
    () => new Host({ transport: server.client, registrations: [] }),
    /registrations is empty/,
  );
  assert.equal(called, 0);
  assert.equal(server.api.stats.openStreams, 0);
});

Deno.test("Host.run() can run only once", async () => {
  await using server = await startServer();
  const host = new Host({
    transport: server.client,
    registrations: [defineWorker({ name: "once", required: false, run: () => {} })],
  });
  await host.run();
  await assert.rejects(host.run(), /already called/);
});

Deno.test("Host.run() reports a run() registration that ignores its signal after the drain timeout", async () => {
  using time = fakeTime();
  const controller = new AbortController();
  const { EventsClient } = await import("../mod.ts");
  const host = new Host({
    // Never used: neither registration touches the network.
    transport: new EventsClient({ baseUrl: "http://127.0.0.1:9", fetch: () => Promise.reject() }),
    registrations: [
      defineWorker({ name: "stubborn", run: () => new Promise<void>(() => {}) }),
      defineWorker({
        name: "polite",
        run: ({ signal }) =>
          new Promise<void>((resolve) =>
            signal.addEventListener("abort", () => resolve(), { once: true })
          ),
      }),
    ],
    signal: controller.signal,
    drainTimeout: 1_000,
  });
  const running = start(host);
  await settle(time.clock);
  controller.abort();
  await time.clock.tickAsync(999);
  assert.equal(running.settled, false);
  assert.equal(stateOf(host, "polite"), "stopped");
  assert.equal(stateOf(host, "stubborn"), "stopping");
  await time.clock.tickAsync(1);
  await assert.rejects(
    running.done,
    (error) =>
      error instanceof RegistrationError && error.registration === "stubborn" &&
      /drain timeout of 1000 ms/.test(error.message),
  );
  assert.equal(stateOf(host, "stubborn"), "failed");
});

Deno.test("Host.run() with an already aborted signal stops at once and resolves", async () => {
  await using server = await startServer();
  let ran = 0;
  const host = new Host({
    transport: server.client,
    registrations: [
      recorder("listener", []),
      defineWorker({
        name: "loop",
        run: ({ signal }) => {
          ran++;
          assert.equal(signal.aborted, true);
        },
      }),
    ],
    signal: AbortSignal.abort(),
  });
  await host.run();
  assert.equal(ran, 1);
  assert.equal(host.status, "stopped");
  assert.equal(server.api.stats.openStreams, 0);
});
