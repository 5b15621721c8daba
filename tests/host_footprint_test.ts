/**
 * What a `Host` keeps per registration while its listeners wait, as
 * structural facts rather than byte counts (those are a benchmark:
 * bench/scale.ts): how many `AbortController`s and event listeners the
 * library makes for N idle registrations over real HTTP, and what the
 * first event makes on demand. Byte figures are in docs/benchmarks.md.
 */
import assert from "node:assert/strict";
import { defineWorker, Host } from "../mod.ts";
import { startServer, type TestServer } from "./_server.ts";
import { until } from "./_poll.ts";

const REGISTRATIONS = 12;

/** Counts every `new AbortController()` made through the global while `use` runs. */
async function countControllers<T>(use: () => Promise<T>): Promise<{ made: number; result: T }> {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    const result = await use();
    return { made, result };
  } finally {
    globalThis.AbortController = Original;
  }
}

/**
 * Follows `addEventListener` and `removeEventListener` on every target:
 * the listeners each target holds now, and every target one was ever added to.
 */
function spyListeners() {
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  const live = new Map<EventTarget, Array<{ type: string; listener: unknown }>>();
  const touched = new Set<EventTarget>();
  EventTarget.prototype.addEventListener = function (this: EventTarget, type, listener, options) {
    touched.add(this);
    const held = live.get(this) ?? [];
    if (!held.some((each) => each.type === type && each.listener === listener)) {
      held.push({ type, listener });
    }
    live.set(this, held);
    return add.call(this, type, listener, options);
  };
  EventTarget.prototype.removeEventListener = function (
    this: EventTarget,
    type,
    listener,
    options,
  ) {
    const held = live.get(this) ?? [];
    const at = held.findIndex((each) => each.type === type && each.listener === listener);
    if (at >= 0) held.splice(at, 1);
    return remove.call(this, type, listener, options);
  };
  return {
    touched,
    /** How many listeners of `type` each target holding any holds now (`once` ones until removed). */
    holding(type: string): number[] {
      return [...live.values()]
        .map((held) => held.filter((each) => each.type === type).length)
        .filter((count) => count > 0);
    },
    restore() {
      EventTarget.prototype.addEventListener = add;
      EventTarget.prototype.removeEventListener = remove;
    },
  };
}

/** A host over `server` whose `count` registrations each listen to a name of their own. */
function idleHost(server: TestServer, count: number, handled: string[] = []) {
  const stop = new AbortController();
  const registrations = Array.from({ length: count }, (_, i) =>
    defineWorker({
      name: `idle-${i}`,
      names: [`tests.footprint.${i}`],
      handler: (event) => {
        handled.push(event.name);
      },
    }));
  const host = new Host({ transport: server.client, registrations, signal: stop.signal });
  return { host, stop };
}

/**
 * Runs `host` until it is ready. The run is returned in an object: an async
 * function that returned the promise itself would wait for it to end.
 */
async function runUntilReady(host: Host): Promise<{ running: Promise<void> }> {
  const running = host.run();
  await host.readiness.waitReady(AbortSignal.timeout(10_000));
  return { running };
}

Deno.test("Host.run() makes one AbortController per idle registration and the client one per stream", async () => {
  await using server = await startServer();
  const { host, stop } = idleHost(server, REGISTRATIONS);
  const { made, result: { running } } = await countControllers(() => runUntilReady(host));
  // Per registration: its stop signal (the host's own was made with it)
  // and its open request (the client). A worker makes its handler and
  // retry stops only when an event needs them, the listener none.
  assert.equal(made, 2 * REGISTRATIONS);
  stop.abort();
  await running;
});

Deno.test("Host.run() adds no listener to a registration's readiness and one abort listener per stream", async () => {
  await using server = await startServer();
  const { host, stop } = idleHost(server, REGISTRATIONS);
  const spy = spyListeners();
  const { running } = await runUntilReady(host).finally(() => spy.restore());
  const readiness = host.names.map((name) => host.readinessOf(name));
  // The host observes each registration's readiness without event listeners.
  assert.deepEqual(readiness.filter((each) => spy.touched.has(each)), []);
  // While they wait, each registration's signal holds one abort listener,
  // its open stream's (the client's link while opening was removed); the
  // host's signals hold a constant number, whatever N.
  const holding = spy.holding("abort");
  assert.equal(holding.filter((count) => count === 1).length >= REGISTRATIONS, true);
  assert.ok(Math.max(...holding) <= 2, `most abort listeners on one signal: ${holding}`);
  assert.ok(holding.length <= REGISTRATIONS + 3, `signals with abort listeners: ${holding}`);
  stop.abort();
  await running;
});

Deno.test("Host.run() still counts, measures and stops registrations whose parts it makes on demand", async () => {
  await using server = await startServer();
  const handled: string[] = [];
  const { host, stop } = idleHost(server, 3, handled);
  const { running } = await runUntilReady(host);
  await server.client.publish({ name: "tests.footprint.1", payload: 1 });
  await until(() => handled.length === 1);
  const report = host.report();
  assert.deepEqual(report.registrations.map((entry) => entry.handled), [0, 1, 0]);
  const metrics = await (await host.fetch(new Request("http://host.test/metrics"))).text();
  assert.match(metrics, /tests\.footprint\.1/);
  assert.doesNotMatch(metrics, /tests\.footprint\.0/);
  stop.abort();
  await running;
  assert.deepEqual(host.report().registrations.map((entry) => entry.state), [
    "stopped",
    "stopped",
    "stopped",
  ]);
});
