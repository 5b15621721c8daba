/**
 * Closing the reference server under `FakeTime`: `api.close()` and a served
 * listener's `close()` end open loopback streams and free the port without
 * the test moving its fake clock.
 */
import assert from "node:assert/strict";
import { EventsClient } from "../mod.ts";
import { createEventsApi, FakeTime } from "../testing.ts";

/** Captured before any FakeTime replaces it: the guard below must run in real time. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** `"closed"` once `closing` resolves, or `"still closing"` after `ms` of real time. */
async function closedWithin(closing: Promise<void>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      closing.then(() => "closed"),
      new Promise<string>((resolve) => timer = realSetTimeout(resolve, ms, "still closing")),
    ]);
  } finally {
    realClearTimeout(timer);
  }
}

for (const how of ["api.close()", "served.close()"] as const) {
  Deno.test(`createEventsApi() ${how} completes under FakeTime with an open loopback stream`, async () => {
    using time = new FakeTime();
    const api = createEventsApi({ auth: false, heartbeatMs: 0 });
    const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
    const client = new EventsClient({ baseUrl: served.url });
    const stream = await client.open({ name: "fake.close.ping" });
    assert.equal(api.stats.openStreams, 1);
    const closing = how === "api.close()" ? api.close() : served.close();
    const outcome = await closedWithin(closing, 2_000);
    if (outcome !== "closed") {
      // Let the clean-up finish, so only the assertion fails.
      time.tick(1);
      await closing;
    }
    await stream.close?.();
    await api.close();
    assert.equal(outcome, "closed");
    assert.equal(api.stats.openStreams, 0);
  });
}
