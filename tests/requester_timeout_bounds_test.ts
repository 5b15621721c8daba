/**
 * Requester timeouts must be finite, above 0 and at most 2^31 − 1 ms (the
 * longest a timer waits; a longer one, or Infinity, fired at once): the
 * constructor throws, and `request()` / `gather()` reject before anything
 * is published.
 */
import assert from "node:assert/strict";
import { Requester } from "../mod.ts";
import { startServer } from "./_server.ts";

const BAD_TIMEOUTS: [unknown, string][] = [
  [Infinity, "Infinity"],
  [2 ** 31, "2147483648"],
  [-1, "-1"],
  [Number.NaN, "NaN"],
  [0, "0"],
  ["x", '"x"'],
];

function expectedMessage(shown: string): string {
  return `Cannot use timeout: current value is ${shown}, expected > 0 and <= 2147483647 ms`;
}

Deno.test("new Requester() refuses a timeout that is not finite, > 0 and <= 2^31 − 1 ms", async () => {
  await using server = await startServer();
  for (const [timeout, shown] of BAD_TIMEOUTS) {
    assert.throws(
      () =>
        new Requester({
          transport: server.client,
          responseNames: ["bounds.response"],
          timeout: timeout as number,
        }),
      (error) => error instanceof RangeError && error.message === expectedMessage(shown),
      String(timeout),
    );
  }
  assert.equal(server.api.stats.openStreams, 0, "no listener was started");
});

Deno.test("Requester.request() and gather() reject such a timeout before publishing", async () => {
  await using server = await startServer();
  await using requester = new Requester({
    transport: server.client,
    responseNames: ["bounds.response"],
  });
  await requester.readiness.waitReady();
  for (const [timeout, shown] of BAD_TIMEOUTS) {
    for (const call of ["request", "gather"] as const) {
      const error = await requester[call]("bounds.request", {}, { timeout: timeout as number })
        .catch((error) => error);
      assert.ok(error instanceof RangeError, `${call} ${String(timeout)}: ${error}`);
      assert.equal(error.message, expectedMessage(shown));
    }
  }
  assert.equal(server.api.stats.published, 0);
  assert.equal(requester.stats.pending, 0);
});
