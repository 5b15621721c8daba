/**
 * `gather()` with `expectedResponders` counts distinct expected sources
 * toward `minResponses`: by default every expected responder must have
 * answered, so a repeat (a redelivery) or a stranger's answer cannot stand
 * in for a silent responder at the timeout. Over the reference server on
 * loopback; fake time drives the gather's timeout.
 */
import assert from "node:assert/strict";
import { type GatherOptions, GatherTimeoutError, listen, Requester } from "../mod.ts";
import { fakeTime } from "./_fake_time.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";
import { untilReal } from "./_scripted_server.ts";

const REQUEST = "census.request";
const RESPONSE = "census.response";

/**
 * Runs a gather whose request is answered once per entry of `sources`,
 * then lets its `timeout` run out, and returns how it settled.
 */
async function gatherAnsweredBy(
  sources: readonly string[],
  options: { expectedResponders: string[]; minResponses?: number },
) {
  await using server = await startServer();
  const stop = new AbortController();
  const responder = listen({
    transport: server.client,
    stream: { name: REQUEST },
    signal: stop.signal,
    onEvent: async ({ correlationId }) => {
      for (const source of sources) {
        await server.client.publish({ name: RESPONSE, correlationId, source, payload: source });
      }
      // Published after the answers on the same name: once the requester
      // counted it, it has taken every answer before it.
      await server.client.publish({ name: RESPONSE, correlationId: "sentinel", payload: 0 });
    },
  });
  await using requester = new Requester({ transport: server.client, responseNames: [RESPONSE] });
  try {
    await until(() => server.api.stats.openStreams === 2, 5_000, "both streams");
    await requester.readiness.waitReady();
    using time = fakeTime();
    const gathering = requester.gather(REQUEST, {}, { ...options, timeout: 1_000 })
      .then((result) => ({ result }), (error: unknown) => ({ error }));
    await untilReal(() => requester.stats.unknown === 1, "every answer");
    await time.clock.tickAsync(1_000);
    return await gathering;
  } finally {
    stop.abort();
    await responder;
  }
}

for (const sources of [["alpha", "alpha"], ["alpha", "stranger"]]) {
  Deno.test(`Requester.gather() expecting alpha and beta rejects at the timeout when answered by ${sources.join(" and ")}`, async () => {
    const outcome = await gatherAnsweredBy(sources, { expectedResponders: ["alpha", "beta"] });
    assert.ok("error" in outcome, `resolved: ${JSON.stringify(outcome)}`);
    const error = outcome.error;
    assert.ok(error instanceof GatherTimeoutError, String(error));
    assert.deepEqual(error.missing, ["beta"]);
    assert.equal(error.received, 2);
    assert.equal(
      error.message,
      "Cannot gather responses: 1 of at least 2 expected responders answered within 1000 ms; no answer from beta",
    );
  });
}

Deno.test("Requester.gather() with minResponses 2 of three expected counts alpha's repeat once", async () => {
  const outcome = await gatherAnsweredBy(["alpha", "alpha", "stranger"], {
    expectedResponders: ["alpha", "beta", "gamma"],
    minResponses: 2,
  });
  assert.ok("error" in outcome && outcome.error instanceof GatherTimeoutError);
  assert.deepEqual(outcome.error.missing, ["beta", "gamma"]);
});

Deno.test("Requester.gather() with minResponses 1 of two expected rejects when only a stranger answered", async () => {
  const outcome = await gatherAnsweredBy(["stranger"], {
    expectedResponders: ["alpha", "beta"],
    minResponses: 1,
  });
  assert.ok("error" in outcome && outcome.error instanceof GatherTimeoutError, String(outcome));
  assert.deepEqual(outcome.error.missing, ["alpha", "beta"]);
  assert.equal(outcome.error.received, 1);
});

Deno.test("gather() refuses, before publishing, a minResponses it could never meet or that is no count", async () => {
  await using server = await startServer();
  await using requester = new Requester({
    transport: server.client,
    responseNames: ["inventory.count.response"],
  });
  await requester.readiness.waitReady();
  const cases: [GatherOptions, RegExp][] = [
    [
      { expectedResponders: ["a", "b"], minResponses: 3 },
      /^RangeError: Cannot gather: minResponses is 3, more than the 2 distinct expectedResponders who can count towards it$/,
    ],
    // Distinct: a repeated responder counts once.
    [
      { expectedResponders: ["a", "a"], minResponses: 2 },
      /^RangeError: Cannot gather: minResponses is 2, more than the 1 distinct/,
    ],
    [
      { minResponses: -1 },
      /^RangeError: Cannot gather: minResponses is -1, expected a whole number >= 0$/,
    ],
    [{ minResponses: 1.5 }, /minResponses is 1\.5, expected a whole number/],
    [{ minResponses: Number.NaN }, /minResponses is NaN, expected a whole number/],
    [{ minResponses: "2" as unknown as number }, /minResponses is "2", expected a whole number/],
    [
      { expectedResponders: ["a", 7 as unknown as string] },
      /^TypeError: Cannot gather: expectedResponders holds 7, expected source strings$/,
    ],
  ];
  for (const [options, message] of cases) {
    const error = await requester.gather("inventory.count.request", {}, options)
      .catch((error) => error);
    assert.match(String(error), message, JSON.stringify(options));
  }
  assert.equal(server.api.stats.published, 0, "nothing was published");
  assert.equal(requester.stats.pending, 0);
});

Deno.test("gather() with minResponses 0 succeeds at the timeout with no answers", async () => {
  await using server = await startServer();
  await using requester = new Requester({
    transport: server.client,
    responseNames: ["inventory.count.response"],
  });
  await requester.readiness.waitReady();
  using time = fakeTime();
  const gathering = requester.gather("inventory.count.request", {}, {
    minResponses: 0,
    timeout: 1_000,
  });
  await untilReal(() => server.api.stats.published === 1, "the request to be published");
  await time.clock.tickAsync(1_000);
  const result = await gathering;
  assert.deepEqual(result.responses, []);
});
