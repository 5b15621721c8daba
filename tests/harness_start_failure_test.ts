/**
 * `testWorker()` when starting fails: it rejects with the failure (the
 * worker's own, or that of the harness's response listener) and leaves
 * nothing running, since the caller gets no harness to close.
 */
import assert from "node:assert/strict";
import { AuthError, defineWorker } from "../mod.ts";
import { testWorker } from "../testing.ts";

const echo = defineWorker({
  name: "echo",
  names: ["start.echo.request"],
  delivery: "unicast",
  handler: (event, publisher) => publisher.reply({ got: event.payload }),
});

/**
 * Counts the intervals armed and not cleared while `body` runs: the
 * in-memory API arms one keepalive interval per open stream, so a stream
 * left open shows as a live interval.
 */
async function liveIntervalsAfter(body: () => Promise<void>): Promise<number> {
  const live = new Set<ReturnType<typeof setInterval>>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const id = realSet(...args);
    live.add(id);
    return id;
  }) as typeof setInterval;
  globalThis.clearInterval = ((id: ReturnType<typeof setInterval>) => {
    live.delete(id);
    realClear(id);
  }) as typeof clearInterval;
  try {
    await body();
    return live.size;
  } finally {
    for (const id of live) realClear(id);
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
  }
}

/** What `promise` settled with within `ms`, or `"still pending"`, so a hang fails the test instead. */
async function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise((resolve) => timer = setTimeout(resolve, ms, "still pending"));
  try {
    return await Promise.race([promise.then(() => "resolved", (error: unknown) => error), pending]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `echo` on an API whose `protectedName` needs a scope the harness's
 * token lacks; what the start settled with, and the intervals left running.
 */
async function startRefused(protectedName: string): Promise<{ rejection: unknown; live: number }> {
  let rejection: unknown;
  const live = await liveIntervalsAfter(async () => {
    rejection = await outcomeWithin(
      testWorker(echo, {
        api: {
          heartbeatMs: 60_000,
          resourceScopes: { [protectedName]: { read: "echo:read", write: "events:send" } },
        },
      }),
      5_000,
    );
  });
  return { rejection, live };
}

Deno.test("testWorker() rejects with the AuthError of its refused response listener, and stops the worker", async () => {
  // The worker may stream its requests; the harness may not read the responses.
  const { rejection, live } = await startRefused("start.echo.response");
  assert.ok(rejection instanceof AuthError, String(rejection));
  assert.equal(rejection.status, 403);
  assert.match(rejection.message, /echo:read/);
  assert.equal(live, 0, "the worker's stream was closed with the harness's API");
});

Deno.test("testWorker() that rejects with the worker's own failure leaves no stream open", async () => {
  // The worker may not stream its requests; the harness may read the responses.
  const { rejection, live } = await startRefused("start.echo.request");
  assert.ok(rejection instanceof AuthError, String(rejection));
  assert.equal(rejection.status, 403);
  assert.equal(live, 0, "the harness's response stream was closed with its API");
});

Deno.test("testWorker() still resolves once both listeners are up, and nothing was published to start", async () => {
  await using worker = await testWorker(echo);
  assert.equal(worker.readiness.ready, true);
  assert.equal(worker.api.stats.published, 0, "the start-up wait publishes nothing");
  assert.deepEqual(await worker.request("start.echo.request", 1), { got: 1 });
  assert.equal(worker.api.stats.published, 2);
});
