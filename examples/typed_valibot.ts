/**
 * Typed events with valibot: a worker whose `schema` types and checks each
 * payload and each reply, and a requester whose `schema` types and checks
 * the response. A reply that breaks its schema is never published as a
 * success: the requester gets `invalid_reply` instead.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env examples/typed_valibot.ts
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console -- printing is what an example does
import { EventsClient, ListenerReadiness, Requester, ResponseError, runWorker } from "../mod.ts"; // "@bus/integration"
import { createEventsApi } from "../testing.ts"; // "@bus/integration/testing"
import * as v from "valibot";

const Greet = v.object({
  // Trimmed before the handler sees it.
  name: v.pipe(v.string(), v.trim(), v.nonEmpty()),
  shout: v.optional(v.boolean(), false),
});
const Greeting = v.object({ greeting: v.pipe(v.string(), v.maxLength(24)) });

const api = createEventsApi();
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url, token: await api.mintToken() });
const stop = new AbortController();
const ready = new ListenerReadiness();

const worker = runWorker({
  transport: client,
  names: ["example.greet.request"],
  delivery: "unicast",
  group: "greeters",
  readiness: ready,
  signal: stop.signal,
  schema: { payload: Greet, reply: Greeting },
  handler: (event, publisher) => {
    // event.payload: { name: string; shout: boolean }
    const greeting = `Hello, ${event.payload.name}!`;
    // reply() takes { greeting: string }; one longer than 24 characters is refused.
    return publisher.reply({ greeting: event.payload.shout ? greeting.toUpperCase() : greeting });
  },
});

const requester = new Requester({
  transport: client,
  responseNames: ["example.greet.response"],
  timeout: 5_000,
  signal: stop.signal,
});
await Promise.all([ready.waitReady(), requester.readiness.waitReady()]);

// answer: { greeting: string }
const answer = await requester.request("example.greet.request", { name: "  Ada ", shout: true }, {
  schema: Greeting,
});
console.log("greeting:", answer.greeting);
try {
  await requester.request("example.greet.request", {
    name: "Ada Augusta King, Countess of Lovelace",
  });
} catch (error) {
  if (!(error instanceof ResponseError)) throw error;
  console.log("error response:", error.code, error.message);
}

await requester.close();
stop.abort();
await worker;
await api.close();
