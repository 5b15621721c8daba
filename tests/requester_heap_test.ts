import assert from "node:assert/strict";

Deno.test("Requester after 100,000 settled requests has an empty pending map and its heap back", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-env",
      "--v8-flags=--expose-gc",
      "tests/fixtures/requester_heap.ts",
      "100000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(result.settled, 110_000);
  assert.equal(result.pending, 0);
  assert.ok(
    result.ratio <= 1.10,
    `heap grew from ${result.before} to ${result.after} bytes (×${result.ratio.toFixed(3)})`,
  );
});
