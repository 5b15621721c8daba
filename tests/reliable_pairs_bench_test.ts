import assert from "node:assert/strict";
import { assertRefusesCommandLines, runBench } from "./_child.ts";

const SCRIPT = "bench/reliable_pairs.ts";

Deno.test("bench/reliable_pairs.ts refuses a bad command line with status 2, naming what it expects", async () => {
  await assertRefusesCommandLines(
    SCRIPT,
    [["--pairs", "2"], ["--pairs", "x"], ["--pairs"], ["--rounds", "5"], ["--pairs", "3.5"]],
    /expected \[--pairs N\] with N an integer >= 3/,
  );
});

Deno.test("bench/reliable_pairs.ts reads every configuration in pairs and ends with one JSON line of ratios", async () => {
  const { code, stdout, stderr } = await runBench(SCRIPT, ["--pairs", "3"]);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split("\n");
  const result = JSON.parse(lines.at(-1)!);
  assert.equal(result.pairs, 3);
  assert.match(result.runtime, /^deno \d/);
  for (const name of ["all", "idempotency", "ordering", "retry", "steady"]) {
    // A ratio of two reads of the same 20,000 events: positive, and within a few times of 1.
    assert.ok(result[name] > 0.2 && result[name] < 5, `${name}: ${result[name]}`);
    assert.ok(lines.some((line) => line.startsWith(name) && line.includes("3 pairs")), name);
  }
});
