/**
 * runWorker() and listenAll() refuse bad options before they connect, as
 * defineWorker() and Host do for registrations: a handler that is no
 * function, an unknown delivery, a naming field that is no string, a
 * drainTimeout that is negative or NaN, no streams at all. Against the
 * reference server on loopback, which must see no stream opened.
 */
import assert from "node:assert/strict";
import { listenAll, ListenerReadiness, runWorker, type WorkerOptions } from "../mod.ts";
import { startServer } from "./_server.ts";

Deno.test("runWorker() rejects bad options before connecting, naming the option", async () => {
  await using server = await startServer();
  const base = { transport: server.client, names: ["opts.check"], handler: () => {} };
  const cases: [Partial<Record<keyof WorkerOptions, unknown>>, RegExp][] = [
    [{ handler: "reply" }, /^TypeError: Cannot run worker: handler is not a function$/],
    [{ handler: undefined }, /^TypeError: Cannot run worker: handler is not a function$/],
    [
      { delivery: "anycast" },
      /^TypeError: Cannot run worker: delivery is "anycast", expected broadcast or unicast$/,
    ],
    [{ group: 7 }, /^TypeError: Cannot run worker: group is not a string$/],
    [{ consumer: {} }, /^TypeError: Cannot run worker: consumer is not a string$/],
    [{ source: true }, /^TypeError: Cannot run worker: source is not a string$/],
    [
      { drainTimeout: -1 },
      /^RangeError: Cannot run worker: drainTimeout is -1, expected a number of ms >= 0$/,
    ],
    [{ drainTimeout: Number.NaN }, /drainTimeout is NaN, expected a number of ms >= 0$/],
    [{ drainTimeout: "30s" }, /drainTimeout is 30s, expected a number of ms >= 0$/],
  ];
  for (const [extra, message] of cases) {
    const outcome = await runWorker({ ...base, ...extra } as WorkerOptions).then(
      () => "connected",
      (error) => String(error),
    );
    assert.match(outcome, message, JSON.stringify(extra));
  }
  assert.equal(server.api.stats.openStreams, 0);
});

Deno.test("listenAll() with no streams rejects instead of reporting ready", async () => {
  const readiness = new ListenerReadiness();
  const flips: boolean[] = [];
  readiness.addEventListener("change", (event) => flips.push(event.ready));
  await assert.rejects(
    listenAll({ transport: undefined as never, streams: [], readiness, onEvent: () => {} }),
    /^TypeError: Cannot listen: streams is empty$/,
  );
  assert.deepEqual(flips, [], "readiness never flipped");
  assert.equal(readiness.ready, false);
});
