/**
 * The client against a real SSE server that is not ours: nginx with the
 * nchan module (Debian's packages), started by the test on loopback. Where
 * nginx is missing the test is ignored with one printed line, except under
 * `CI=true`, where it fails.
 */
// deno-lint-ignore-file no-console
import assert from "node:assert/strict";
import {
  type EventEnvelope,
  EventsClient,
  type InvalidInput,
  listen,
  ListenerReadiness,
} from "../mod.ts";
import { nchanMissing, startNchan } from "./_nginx.ts";
import { until } from "./_poll.ts";

const missing = await nchanMissing();
const ci = Deno.env.get("CI") === "true";
if (missing !== undefined && !ci) console.log(`nchan_test: ignored, ${missing}`);

Deno.test({
  name:
    "listen() skips an oversized event from nginx + nchan and delivers the next on the same connection",
  ignore: missing !== undefined && !ci,
  async fn() {
    if (missing !== undefined) throw new Error(`Cannot run under CI=true: ${missing}`);
    await using nchan = await startNchan();
    let opens = 0;
    const client = new EventsClient({
      baseUrl: nchan.url,
      maxLineBytes: 64 * 1024,
      fetch: (request) => {
        if (request.method === "GET") opens++;
        return fetch(request);
      },
    });
    const seen: EventEnvelope[] = [];
    const invalid: InvalidInput[] = [];
    const readiness = new ListenerReadiness();
    const controller = new AbortController();
    const listening = listen({
      transport: client,
      stream: { name: "demo.nchan", onInvalid: (input) => invalid.push(input) },
      onEvent: (event) => {
        seen.push(event);
      },
      readiness,
      reconnect: { min: 50, max: 200 },
      signal: controller.signal,
    });
    try {
      await until(() => readiness.ready, 5_000, "the nchan stream to open");
      const poison = JSON.stringify({ name: "demo.nchan", payload: "x".repeat(200_000) });
      // nchan answers 201 when a subscriber took the message, 202 when it only queued it.
      assert.ok([201, 202].includes(await nchan.publish("demo.nchan", poison)));
      const normal = JSON.stringify({ name: "demo.nchan", payload: { n: 1 } });
      assert.ok([201, 202].includes(await nchan.publish("demo.nchan", normal)));
      await until(() => seen.length >= 1, 5_000, "the event after the oversized one");
      assert.deepEqual(seen.map((e) => e.payload), [{ n: 1 }]);
      assert.deepEqual(invalid.map(({ kind, limit }) => ({ kind, limit })), [
        { kind: "too-large", limit: 64 * 1024 },
      ]);
      assert.ok(invalid[0]!.size! > 200_000, `size ${invalid[0]!.size}`);
      assert.ok(invalid[0]!.excerpt.startsWith('data: {"name":"demo.nchan"'), invalid[0]!.excerpt);
      assert.equal(opens, 1, "delivered on the connection it arrived on, with no reconnect");
    } finally {
      controller.abort();
      await listening;
    }
  },
});
