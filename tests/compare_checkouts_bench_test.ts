import assert from "node:assert/strict";
import { assertRefusesCommandLines, runBench } from "./_child.ts";

const SCRIPT = "bench/compare_checkouts.ts";

Deno.test("bench/compare_checkouts.ts refuses a bad command line with status 2, naming what it expects", async () => {
  await assertRefusesCommandLines(
    SCRIPT,
    [[], ["."], [".", ".", "fast"], [".", ".", "all", "2"], [".", ".", "all", "x"]],
    /expected DIR_A DIR_B \[all \| idempotency \| baseline\] \[pairs >= 3\]/,
  );
});

Deno.test("bench/compare_checkouts.ts names a directory it cannot load a library from", async () => {
  const empty = await Deno.makeTempDir();
  try {
    for (const dir of [empty, `${empty}/missing`]) {
      const { code, stdout, stderr } = await runBench(SCRIPT, [".", dir, "baseline", "3"]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`Cannot run: cannot load ${dir}/mod.ts`));
      assert.equal(stdout, "");
    }
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("bench/compare_checkouts.ts reads the corpus with both checkouts and ends with one JSON line", async () => {
  const { code, stdout, stderr } = await runBench(SCRIPT, [".", ".", "all", "3"]);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split("\n");
  const result = JSON.parse(lines.at(-1)!);
  assert.equal(result.configuration, "all");
  assert.equal(result.pairs, 3);
  // Two reads of the same 20,000 events: positive times, a ratio within a few times of 1.
  assert.ok(result.aMs > 0 && result.bMs > 0, stdout);
  assert.ok(result.ratio > 0.2 && result.ratio < 5 && result.q1 <= result.q3, stdout);
  assert.match(
    lines[0]!,
    /^all: A [\d.]+ ms, B [\d.]+ ms a read; A \/ B [\d.]+ \(quartiles .*, 3 pairs\)$/,
  );
});
