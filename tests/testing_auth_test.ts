import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { createEventsApi } from "../testing.ts";

function publish(api: ReturnType<typeof createEventsApi>, token: string): Promise<Response> {
  return api.fetch(
    new Request("http://api.test/api/v1/events", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: "demo.auth" }),
    }),
  );
}

Deno.test("createEventsApi() rejects a token once it expires, even after accepting it before", async () => {
  const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
  try {
    const api = createEventsApi({ heartbeatMs: 0 });
    const token = await api.mintToken({ ttlSeconds: 60 });
    const first = await publish(api, token);
    assert.equal(first.status, 202);
    await first.body?.cancel();
    clock.tick(59_000);
    const still = await publish(api, token);
    assert.equal(still.status, 202, "accepted from the verified-token cache");
    await still.body?.cancel();
    clock.tick(1_000);
    const expired = await publish(api, token);
    assert.equal(expired.status, 401);
    assert.match((await expired.json()).error.message, /expired/);
    await api.close();
  } finally {
    clock.uninstall();
  }
});
