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

Deno.test("Host.run() makes no AbortController per idle registration and the client one per stream", async () => {
  await using server = await startServer();
  const { host, stop } = idleHost(server, REGISTRATIONS);
  const { made, result: { running } } = await countControllers(() => runUntilReady(host));
  // Per registration only its open request's (the client): every
  // registration runs with the host's own stop signal (made with the
  // host), a worker makes its handler and retry stops only when an event
  // needs them, the listener none.
  assert.equal(made, REGISTRATIONS);
  stop.abort();
  await running;
});

Deno.test("Host.run() adds no listener to a registration's readiness, and its streams watch the host's one signal through one abort listener", async () => {
  await using server = await startServer();
  const { host, stop } = idleHost(server, REGISTRATIONS);
  const spy = spyListeners();
  const { running } = await runUntilReady(host).finally(() => spy.restore());
  const readiness = host.names.map((name) => host.readinessOf(name));
  // The host observes each registration's readiness without event listeners.
  assert.deepEqual(readiness.filter((each) => spy.touched.has(each)), []);
  // While they wait, every registration's open stream watches the host's
  // stop signal (the client's link while opening was removed), all of them
  // through one abort listener (src/abort_watch.ts), beside the host's own:
  // no signal holds more than two, however many registrations there are.
  const holding = spy.holding("abort").sort((a, b) => b - a);
  assert.equal(holding[0], 2, `abort listeners per signal: ${holding}`);
  assert.ok(holding.length <= 4, `signals with abort listeners: ${holding}`);
  stop.abort();
  await running;
});

Deno.test("Host.run() makes no EventTarget state for an idle registration's readiness", async () => {
  await using server = await startServer();
  const { host, stop } = idleHost(server, REGISTRATIONS);
  const { running } = await runUntilReady(host);
  // Deno keeps an EventTarget's state in own properties (Node too: two
  // Maps); a readiness nobody listens to has none.
  const readiness = host.names.map((name) => host.readinessOf(name));
  assert.deepEqual(readiness.map((each) => Reflect.ownKeys(each).length), readiness.map(() => 0));
  assert.ok(Reflect.ownKeys(host.readiness).length > 0, "the host's own readiness is listened to");
  stop.abort();
  await running;
});

/** Runs tests/_many_registrations.ts under Node as a bundle; resolves with its output. */
async function underNode(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "footprint-" });
  try {
    const bundle = `${dir}/many.mjs`;
    const source = new URL("./_many_registrations.ts", import.meta.url).pathname;
    const bundled = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "--format", "esm", "-o", bundle, source],
    }).output();
    assert.equal(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
    const run = await new Deno.Command("node", { args: [bundle, ...args] }).output();
    const text = new TextDecoder();
    return { code: run.code, stdout: text.decode(run.stdout), stderr: text.decode(run.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const hasNode = (() => {
  try {
    return new Deno.Command("node", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "Host.run() trips no MaxListenersExceededWarning on Node with 1,000 registrations on one signal",
  ignore: !hasNode,
  fn: async () => {
    // The control: this Node does warn past 10 listeners on one signal.
    const control = await underNode("control");
    assert.match(control.stderr, /MaxListenersExceededWarning/);
    const many = await underNode("many", "1000");
    assert.equal(many.code, 0, many.stderr);
    assert.match(many.stdout, /ready 1000\nstopped stopped/);
    assert.doesNotMatch(many.stderr, /MaxListenersExceededWarning/);
  },
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
