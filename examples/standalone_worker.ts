/**
 * A standalone worker process, as the README shows it: configuration from
 * the environment contract, logging to stderr, readiness in the log, and a
 * clean drain on SIGINT/SIGTERM.
 *
 * ```sh
 * BUS_EVENTS_API_URL=http://127.0.0.1:8080 BUS_API_TOKEN_FILE=./token \
 *   deno run --allow-net --allow-env --allow-read examples/standalone_worker.ts
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console -- printing is what an example does
import { configure, getConsoleSink } from "@logtape/logtape";
import {
  clientOptionsFromEnv,
  EventsClient,
  listenerOptionsFromEnv,
  ListenerReadiness,
  runWorker,
} from "../mod.ts"; // "@bus/integration" in your project

// The library only logs; the application decides where to.
await configure({
  sinks: { stderr: getConsoleSink() },
  loggers: [{ category: ["bus-integration"], lowestLevel: "info", sinks: ["stderr"] }],
});

const { baseUrl, token } = await clientOptionsFromEnv(); // BUS_EVENTS_API_URL, BUS_API_TOKEN, …
const { reconnect, tokenRefresh } = listenerOptionsFromEnv(); // BUS_EVENTS_LISTENER_RETRY_*, …
const client = new EventsClient({ baseUrl, token });

const readiness = new ListenerReadiness();
readiness.addEventListener("change", (event) => {
  console.error(`readiness: ${event.ready ? "ready" : "not ready"} (${event.reason})`);
});

const shutdown = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => shutdown.abort());
}

await runWorker({
  transport: client,
  names: ["example.greet.request"],
  delivery: "unicast",
  group: "greeter",
  consumer: "greeter-1",
  concurrency: 4,
  reconnect,
  tokenRefresh,
  readiness,
  signal: shutdown.signal,
  handler: async (event, publisher) => {
    const { name } = event.payload as { name: string };
    if (!name) throw new Error("payload.name is empty"); // answered as an error response
    await publisher.reply({ greeting: `Hello, ${name}!` });
  },
});
console.error("worker stopped");
