/**
 * Request/reply end to end, as the README shows it: the reference server on
 * loopback, a worker, and a requester sending a request, getting an error
 * response, and gathering answers from two responders.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env examples/request_reply.ts
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console -- printing is what an example does
import { EventsClient, ListenerReadiness, Requester, ResponseError, runWorker } from "../mod.ts"; // "@bus/integration"
import { createEventsApi } from "../testing.ts"; // "@bus/integration/testing"

const api = createEventsApi();
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url, token: await api.mintToken() });
const stop = new AbortController();

// Two workers answering the same request name, each in its own group.
const ready = [new ListenerReadiness(), new ListenerReadiness()];
const workers = ["alpha", "beta"].map((consumer, i) =>
  runWorker({
    transport: client,
    readiness: ready[i],
    names: ["example.sum.request"],
    delivery: "unicast",
    group: consumer,
    consumer,
    signal: stop.signal,
    handler: async (event, publisher) => {
      const numbers = event.payload as number[];
      if (numbers.length === 0) return publisher.replyError("empty_input", "nothing to add");
      await publisher.reply(numbers.reduce((sum, n) => sum + n, 0));
    },
  })
);

const requester = new Requester({
  transport: client,
  responseNames: ["example.sum.response"],
  timeout: 5_000,
  signal: stop.signal,
});
// A unicast group gets what is published after its first consumer connected.
await Promise.all([...ready, requester.readiness].map((r) => r.waitReady()));

console.log("sum:", await requester.request("example.sum.request", [1, 2, 3]));
try {
  await requester.request("example.sum.request", []);
} catch (error) {
  if (!(error instanceof ResponseError)) throw error;
  console.log("error response:", error.code, error.message);
}
const { responses, missing } = await requester.gather("example.sum.request", [4, 5], {
  expectedResponders: ["alpha", "beta"],
  timeout: 2_000,
});
console.log("gathered:", responses.map((r) => `${r.source}=${r.payload}`).sort().join(" "));
console.log("missing:", missing.length === 0 ? "none" : missing.join(", "));

stop.abort();
await Promise.all(workers);
await requester.close();
await api.close();
