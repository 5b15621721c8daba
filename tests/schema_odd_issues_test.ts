/**
 * A schema that reports a failure with odd issues (not objects, a `path`
 * that is no array, BigInt or symbol keys, values that cannot be turned
 * into text, throwing getters) still means "the value failed": the listing
 * of its issues never throws, a worker answers `invalid_payload` without
 * retrying, and a typed gather reports the response as invalid.
 */
import assert from "node:assert/strict";
import { defineWorker, InvalidResponseError, Requester, ResponseError } from "../mod.ts";
import { describeIssues, issuePath, type SchemaIssue } from "../src/schema.ts";
import { testWorker } from "../testing.ts";

const throwingGetter = Object.defineProperty({}, "path", {
  enumerable: true,
  get: () => {
    throw new Error("no path");
  },
});

const oddIssues: Record<string, unknown[]> = {
  "path is a number": [{ message: "bad", path: 5 }],
  "path is a string": [{ message: "bad", path: "items" }],
  "path key is a bigint": [{ message: "bad", path: [10n, { key: 2n }] }],
  "path key is an object": [{ message: "bad", path: [{ key: Object.create(null) }] }],
  "issue is null": [null],
  "issue is a string": ["just text"],
  "message cannot become text": [{ message: Object.create(null), path: ["a"] }],
  "message is a bigint": [{ message: 7n }],
  "path getter throws": [throwingGetter],
};

Deno.test("describeIssues() never throws, whatever the issues hold", () => {
  const all = Object.values(oddIssues).flat() as SchemaIssue[];
  assert.equal(
    describeIssues(all, "payload"),
    [
      "payload: bad",
      "payload: bad",
      "payload[10][2]: bad",
      "payload[(unprintable)]: bad",
      "payload: null",
      "payload: just text",
      "payload.a: (unprintable)",
      "payload: 7",
      "payload: (unprintable)",
    ].join("; "),
  );
  assert.equal(issuePath(5 as never), "", "a path that is no array is the root");
  assert.equal(issuePath([Symbol("s"), true, undefined] as never), "[Symbol(s)][true][undefined]");
});

/** A Standard Schema whose validate() reports `issues` and counts its calls. */
function reporting(issues: unknown[], calls: { n: number }) {
  return {
    "~standard": {
      version: 1 as const,
      vendor: "odd",
      validate: () => {
        calls.n++;
        return { issues } as never;
      },
    },
  };
}

for (const [label, issues] of Object.entries(oddIssues)) {
  Deno.test(`a worker answers invalid_payload, once, when the payload schema reports odd issues (${label})`, async () => {
    const calls = { n: 0 };
    const worker = defineWorker({
      name: "odd",
      names: ["odd.issues.request"],
      delivery: "unicast",
      schema: { payload: reporting(issues, calls) },
      retry: { attempts: 3, delay: 1, maxDelay: 2 },
      handler: (_event, publisher) => publisher.reply("handled"),
    });
    await using harness = await testWorker(worker);
    const error = await harness.request("odd.issues.request", 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ResponseError, String(error));
    assert.equal(error.code, "invalid_payload");
    assert.match(error.message, /the payload does not match the schema: payload/);
    assert.equal(calls.n, 1, "an invalid payload is not retried");
    assert.equal(harness.stats.failed, 1);
  });
}

Deno.test("Requester.gather() reports a response whose schema issues are odd as invalid instead of rejecting", async () => {
  const worker = defineWorker({
    name: "quoter",
    names: ["odd.quote.request"],
    delivery: "broadcast",
    handler: (event, publisher) => publisher.reply(event.payload),
  });
  await using harness = await testWorker(worker);
  const requester = new Requester({
    transport: harness.transport,
    responseNames: ["odd.quote.response"],
    timeout: 5_000,
  });
  try {
    await requester.readiness.waitReady();
    const calls = { n: 0 };
    const { responses, invalid } = await requester.gather("odd.quote.request", 1, {
      expectedResponders: ["quoter"],
      schema: reporting([null, { message: "bad", path: [1n] }], calls),
    });
    assert.equal(responses.length, 0);
    assert.equal(invalid.length, 1);
    assert.ok(invalid[0] instanceof InvalidResponseError);
    assert.equal(invalid[0].source, "quoter");
    assert.match(invalid[0].message, /payload: null; payload\[1\]: bad$/);
  } finally {
    await requester.close();
  }
});
