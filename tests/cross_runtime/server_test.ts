/**
 * The reference Events API server under each runtime, in its own process,
 * passes the client checks: publish, a broadcast stream (NDJSON and SSE), a
 * unicast group that splits events between its consumers, and 401 for a bad
 * token. The client is the library from source, under Deno.
 */
import assert from "node:assert/strict";
import { AuthError, type EventEnvelope, EventsClient, type EventStream } from "../../mod.ts";
import { RoleProcess } from "./_process.ts";
import { RUNTIMES, runtimes } from "./_runtimes.ts";

const START_MS = 30_000;
const STEP_MS = 10_000;

/** Reads `count` envelopes from each of `streams` together, within the deadline, then closes them. */
async function collect(streams: EventStream[], count: number): Promise<EventEnvelope[]> {
  const got: EventEnvelope[] = [];
  const closeAll = () => Promise.all(streams.map((stream) => stream.close()));
  const timer = setTimeout(closeAll, STEP_MS);
  try {
    await Promise.all(streams.map(async (stream) => {
      try {
        for await (const envelope of stream) {
          got.push(envelope);
          if (got.length >= count) await closeAll();
        }
      } catch (error) {
        // A stream closed here ends with its abort reason; anything else fails the check.
        if (!(error instanceof DOMException && error.name === "AbortError")) throw error;
      }
    }));
  } finally {
    clearTimeout(timer);
    await closeAll();
  }
  return got;
}

const payloadsOf = (envelopes: EventEnvelope[]) =>
  envelopes.map((envelope) => (envelope.payload as { n: number }).n).sort((a, b) => a - b);

for (const name of RUNTIMES) {
  Deno.test(`reference server under ${name} passes publish, broadcast, unicast and 401 checks`, async () => {
    const runtime = (await runtimes())[name];
    await using server = new RoleProcess(`server under ${name}`, runtime.role("server", {}));
    const ready = await server.report<{ url: string; token: string; runtime: string }>(
      "ready",
      START_MS,
    );
    assert.ok(ready.runtime.startsWith(runtime.label), ready.runtime);
    const client = new EventsClient({ baseUrl: ready.url, token: ready.token });

    const published = await client.publish({ name: "cross.check.ping", payload: { n: 0 } });
    assert.equal(published.name, "cross.check.ping");
    assert.equal(typeof published.id, "string");

    // Broadcast: every open stream gets the event, in either framing.
    const sse = new EventsClient({
      baseUrl: ready.url,
      token: ready.token,
      accept: "text/event-stream",
    });
    const broadcast = [
      await client.open({ name: "cross.check.broadcast" }),
      await client.open({ name: "cross.check.broadcast" }),
      await sse.open({ name: "cross.check.broadcast" }),
    ];
    assert.deepEqual(broadcast.map((stream) => stream.framing), ["ndjson", "ndjson", "sse"]);
    await client.publish({ name: "cross.check.broadcast", payload: { n: 1 } });
    assert.deepEqual(payloadsOf(await collect(broadcast, 3)), [1, 1, 1]);

    // Unicast: the group's two consumers share the events, each exactly once.
    const unicast = await Promise.all(
      ["c1", "c2"].map((consumer) =>
        client.open({ name: "cross.check.unicast", delivery: "unicast", group: "g", consumer })
      ),
    );
    for (let n = 0; n < 6; n++) {
      await client.publish({ name: "cross.check.unicast", payload: { n } });
    }
    assert.deepEqual(payloadsOf(await collect(unicast, 6)), [0, 1, 2, 3, 4, 5]);

    const stranger = new EventsClient({ baseUrl: ready.url, token: "not-a-token" });
    for (
      const attempt of [
        () => stranger.publish({ name: "cross.check.ping", payload: {} }),
        () => stranger.open({ name: "cross.check.ping" }),
      ]
    ) {
      await assert.rejects(
        attempt(),
        (error) => error instanceof AuthError && error.status === 401,
      );
    }

    server.kill("SIGTERM");
    await server.report("stopped", STEP_MS);
    assert.equal((await server.exited(STEP_MS)).code, 0, server.context());
  });
}
