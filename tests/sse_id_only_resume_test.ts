/**
 * An SSE block with an `id` and no data moves the resume point (WHATWG
 * "dispatch the event" sets the last event ID before it drops a data-less
 * event), so a listener reconnects from it, as a browser `EventSource`
 * would. Over real loopback HTTP with a scripted server, and on the parser.
 */
import assert from "node:assert/strict";
import { EventsClient, listen } from "../mod.ts";
import { SseParser } from "../src/decode/sse.ts";
import { scriptedServer, untilReal } from "./_scripted_server.ts";

const envelope = (id: string) => JSON.stringify({ id, name: "sse.ids", payload: {} });

Deno.test("SseParser tells a data-less block's new last event ID once, and not for blank lines", () => {
  const told: string[] = [];
  const events: string[] = [];
  const parser = new SseParser(1024, {
    onEvent: (_type, _data, id) => events.push(id),
    onLastEventId: (id) => told.push(id),
  }, "0");
  const text = "\n\nid: 1\ndata: a\n\nid: 5\n\n\n\n: ping\n\nid: 5\n\nid: 7\nevent: x\n\n";
  parser.feed(new TextEncoder().encode(text));
  assert.deepEqual(events, ["1"]);
  // Blank lines at the start keep the seed ("0"): nothing to tell; 5 once, then 7.
  assert.deepEqual(told, ["5", "7"]);
});

Deno.test("listen() reconnects from the ID of a block that carried no data", async () => {
  const resumedFrom: (string | null)[] = [];
  await using server = scriptedServer((n, request) => {
    // Read while the request is open: Deno closes it once answered.
    resumedFrom.push(request.headers.get("last-event-id"));
    return new Response(
      n === 0 ? `id: 1\ndata: ${envelope("1")}\n\nid: 5\n\n` : "",
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  const stop = new AbortController();
  const seen: string[] = [];
  const listening = listen({
    transport: new EventsClient({ baseUrl: server.url }),
    stream: { name: "sse.ids" },
    reconnect: { min: 1, max: 1 },
    signal: stop.signal,
    onEvent: (event) => {
      seen.push(event.id!);
    },
  });
  try {
    await untilReal(() => resumedFrom.length >= 3, "two reconnects");
    assert.deepEqual(seen, ["1"]);
    assert.deepEqual(resumedFrom.slice(0, 3), [null, "5", "5"]);
  } finally {
    stop.abort();
    await listening;
  }
});
