import assert from "node:assert/strict";
import { z } from "zod";
import {
  assertEventSchemas,
  assertSchema,
  describeIssues,
  issuePath,
  MAX_ISSUE_TEXT,
  MAX_LISTED_ISSUES,
  type StandardSchema,
  validateThen,
} from "../src/schema.ts";

Deno.test("assertSchema() accepts undefined, schema objects and schema functions", () => {
  assertSchema(undefined, "schema");
  assertSchema(z.string(), "schema");
  // arktype's schemas are functions with a ~standard property.
  const callable = Object.assign(() => true, {
    "~standard": { version: 1, vendor: "fn", validate: (value: unknown) => ({ value }) },
  });
  assertSchema(callable, "schema");
});

Deno.test("assertSchema() throws a TypeError naming the field for what is not a v1 Standard Schema", () => {
  const notSchemas = [null, 1, "z.string()", {}, { "~standard": null }, {
    "~standard": { validate: "yes" },
  }];
  for (const value of notSchemas) {
    assert.throws(() => assertSchema(value, "Cannot run worker: schema.payload"), {
      name: "TypeError",
      message:
        "Cannot run worker: schema.payload is not a Standard Schema (no ~standard.validate): " +
        "use a library that implements it, such as zod >= 3.24, valibot >= 1 or arktype >= 2",
    });
  }
  assert.throws(
    () => assertSchema({ "~standard": { version: 2, validate: () => ({ value: 1 }) } }, "s"),
    { name: "TypeError", message: "s implements Standard Schema version 2, expected 1" },
  );
});

Deno.test("assertEventSchemas() checks the object and each of payload and reply", () => {
  assertEventSchemas(undefined, "w");
  assertEventSchemas({}, "w");
  assertEventSchemas({ payload: z.number(), reply: undefined }, "w");
  for (const value of [null, [], "payload", 3]) {
    assert.throws(() => assertEventSchemas(value, "w"), {
      name: "TypeError",
      message: "w: schema is not an object such as { payload, reply }",
    });
  }
  assert.throws(() => assertEventSchemas({ reply: {} }, "w"), /^TypeError: w: schema\.reply is/);
});

Deno.test("issuePath() writes a path as property access", () => {
  assert.equal(issuePath(undefined), "");
  assert.equal(issuePath([]), "");
  assert.equal(issuePath(["items", 0, "name"]), ".items[0].name");
  assert.equal(issuePath([{ key: "items" }, { key: 2 }]), ".items[2]");
  assert.equal(issuePath(["content-type", "2x", "_ok$"]), '["content-type"]["2x"]._ok$');
  assert.equal(issuePath([Symbol("meta")]), "[Symbol(meta)]");
});

Deno.test("issuePath() stops a deep path once it is longer than MAX_ISSUE_TEXT", () => {
  const deep = issuePath(Array.from({ length: 100_000 }, () => "level"));
  assert.ok(deep.length <= MAX_ISSUE_TEXT + ".level".length, `${deep.length} characters`);
});

Deno.test("describeIssues() lists path: message pairs, bounded in count and length", () => {
  assert.equal(
    describeIssues([{ message: "Required", path: ["a"] }, { message: "Too big" }], "payload"),
    "payload.a: Required; payload: Too big",
  );
  assert.equal(describeIssues([], "reply"), "reply: the schema reported no issue");
  const many = Array.from({ length: MAX_LISTED_ISSUES + 1 }, (_, i) => ({
    message: `m${i}`,
    path: [i],
  }));
  assert.ok(describeIssues(many, "p").endsWith("p[9]: m9 (and 1 more issue)"));
  const long = describeIssues([{ message: "y".repeat(10_000), path: ["k".repeat(10_000)] }], "p");
  assert.equal(
    long,
    `${"p." + "k".repeat(MAX_ISSUE_TEXT - 3)}…: ${"y".repeat(MAX_ISSUE_TEXT - 1)}…`,
  );
  // A message that is not a string (a schema library's bug) is shown, not thrown on.
  assert.equal(describeIssues([{ message: 5 as unknown as string }], "p"), "p: 5");
});

Deno.test("validateThen() answers synchronously for a sync schema and with a promise for an async one", async () => {
  const sync = validateThen(z.number(), 1, (result) => result);
  assert.deepEqual(sync, { value: 1 });
  const asyncSchema: StandardSchema<unknown, number> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => Promise.resolve({ value: Number(value) }),
    },
  };
  const later = validateThen(asyncSchema, "2", (result) => result);
  assert.ok(later instanceof Promise);
  assert.deepEqual(await later, { value: 2 });
});

Deno.test("validateThen() throws a TypeError for a result that is not { value } or { issues }", async () => {
  const returning = (result: unknown): StandardSchema => ({
    "~standard": { version: 1, vendor: "test", validate: () => result as never },
  });
  assert.throws(() => validateThen(returning(null), 1, (r) => r), {
    name: "TypeError",
    message:
      "Cannot validate: the schema's validate() returned null, expected { value } or { issues }",
  });
  assert.throws(() => validateThen(returning({ issues: "bad" }), 1, (r) => r), {
    name: "TypeError",
    message: "Cannot validate: the schema's validate() returned issues that are not an array",
  });
  await assert.rejects(
    Promise.resolve(validateThen(returning(Promise.resolve(7)), 1, (r) => r)),
    TypeError,
  );
});
