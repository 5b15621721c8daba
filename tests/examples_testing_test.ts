/**
 * The README's "Test your worker" examples (`examples/testing/`), each run
 * by `deno test` in its own process with the permissions the README gives
 * it: none for the in-process and fake-time ones.
 */
import assert from "node:assert/strict";

async function denoTest(file: string, permissions: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", ...permissions, `examples/testing/${file}`],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
  assert.match(text, /ok \| 1 passed \| 0 failed/);
}

Deno.test("examples/testing/echo_in_process_test.ts passes with no permissions", async () => {
  await denoTest("echo_in_process_test.ts", []);
});

Deno.test("examples/testing/echo_loopback_test.ts passes with loopback access", async () => {
  await denoTest("echo_loopback_test.ts", ["--allow-net=127.0.0.1", "--allow-env"]);
});

Deno.test("examples/testing/request_timeout_fake_time_test.ts passes with no permissions", async () => {
  await denoTest("request_timeout_fake_time_test.ts", []);
});
