/**
 * The README's worker and request/reply code are the example files that
 * tests/examples_test.ts runs, with the package's import specifiers: this
 * keeps the two from drifting apart.
 */
import assert from "node:assert/strict";

const readme = await Deno.readTextFile("README.md");

/** The first ```ts block after `heading`. */
function blockAfter(heading: string): string {
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README has no "${heading}"`);
  const open = readme.indexOf("```ts\n", start) + "```ts\n".length;
  return readme.slice(open, readme.indexOf("```\n", open));
}

/** Code modulo formatting: `deno fmt` lays out code in Markdown differently. */
function normalized(code: string): string {
  return code.replace(/\s+/g, "").replace(/,([}\])])/g, "$1");
}

/** An example file as a user of the published package would write it. */
async function asPublished(path: string): Promise<string> {
  const source = await Deno.readTextFile(path);
  return source
    .replace(/^\/\*\*[\s\S]*?\*\/\n/, "") // module doc
    .replace(/^\/\/ deno-lint-ignore-file.*\n/m, "")
    .replace(/from "\.\.\/mod\.ts"; \/\/ "@bus\/integration".*$/gm, 'from "@bus/integration";')
    .replace(
      /from "\.\.\/testing\.ts"; \/\/ "@bus\/integration\/testing".*$/gm,
      'from "@bus/integration/testing";',
    );
}

Deno.test("README worker example is examples/standalone_worker.ts", async () => {
  assert.equal(
    normalized(blockAfter("## Write a worker")),
    normalized(await asPublished("examples/standalone_worker.ts")),
  );
});

Deno.test("README request/reply example is examples/request_reply.ts", async () => {
  assert.equal(
    normalized(blockAfter("## Request/reply")),
    normalized(await asPublished("examples/request_reply.ts")),
  );
});
