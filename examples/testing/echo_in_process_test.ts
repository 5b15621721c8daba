/**
 * Testing a worker in process: `testWorker()` runs the registration against
 * an in-memory Events API with no sockets, so this file needs no
 * permissions at all: `deno test examples/testing/echo_in_process_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { testWorker } from "../../testing.ts"; // "@bus/integration/testing"
import echo from "../echo_worker.ts";

Deno.test("the echo worker answers with its payload", async () => {
  await using worker = await testWorker(echo);
  assert.deepEqual(await worker.request("example.echo.request", { text: "hi" }), {
    echo: { text: "hi" },
  });
  assert.equal(worker.stats.handled, 1);
  assert.equal(worker.stats.failed, 0);
});
