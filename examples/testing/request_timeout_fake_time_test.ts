/**
 * Testing timeouts with fake time: a request that nobody answers times out
 * after 60 s of fake time, in well under a second of real time. The worker
 * is never started, so the request stays unanswered:
 * `deno test examples/testing/request_timeout_fake_time_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EventsClient, Requester, RequestTimeoutError } from "../../mod.ts"; // "@bus/integration"
import { createEventsApi, FakeTime } from "../../testing.ts"; // "@bus/integration/testing"

Deno.test("an unanswered request times out after 60 s of fake time", async () => {
  using time = new FakeTime();
  const api = createEventsApi({ auth: false, heartbeatMs: 0 });
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: (r) => api.fetch(r) });
  const requester = new Requester({
    transport: client,
    responseNames: ["example.echo.response"],
    timeout: 60_000,
  });
  await requester.readiness.waitReady();
  const answer = requester.request("example.echo.request", "anyone?");
  answer.catch(() => {}); // asserted below
  await time.tickAsync(59_999);
  assert.equal(requester.stats.pending, 1);
  await time.tickAsync(1);
  await assert.rejects(answer, RequestTimeoutError);
  await requester.close();
  await api.close();
});
