/**
 * A 2xx stream answer without a body (a 204 from a proxy, say) is reported
 * as what it is, not as a Content-Type problem, and is retried like any
 * transient failure. Over real loopback HTTP.
 */
import assert from "node:assert/strict";
import { EventsClient, listen, ListenerReadiness, TransientError } from "../mod.ts";
import { scriptedServer, untilReal } from "./_scripted_server.ts";

for (
  const [label, headers] of [
    ["204", {}],
    ["204 that names text/event-stream", { "content-type": "text/event-stream" }],
  ] as const
) {
  Deno.test(`EventsClient.open() rejects a ${label} with a TransientError saying it has no body`, async () => {
    await using server = scriptedServer(() => new Response(null, { status: 204, headers }));
    const error = await new EventsClient({ baseUrl: server.url }).open({ name: "nobody.a" })
      .catch((error) => error);
    assert.ok(error instanceof TransientError, String(error));
    assert.equal(error.message, "Cannot open stream: the server answered 204 with no body");
    assert.equal(error.code, "no_body");
    assert.equal(error.status, 204);
  });
}

Deno.test("listen() reconnects after a 204 stream answer, its readiness saying why", async () => {
  await using server = scriptedServer(() => new Response(null, { status: 204 }));
  const readiness = new ListenerReadiness();
  const stop = new AbortController();
  const listening = listen({
    transport: new EventsClient({ baseUrl: server.url }),
    stream: { name: "nobody.a" },
    reconnect: { min: 1, max: 1 },
    readiness,
    signal: stop.signal,
    onEvent: () => {},
  });
  try {
    await untilReal(() => server.requests.length >= 2, "a reconnect");
    assert.match(readiness.reason, /the server answered 204 with no body/);
    assert.equal(readiness.ready, false);
  } finally {
    stop.abort();
    await listening;
  }
});
