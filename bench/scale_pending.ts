/**
 * Heap per pending request for `bench/scale.ts`, in a fresh process of the
 * runtime under test: `count` `requester.request()` calls nobody answers,
 * through the library's transport to the benchmark's server, against the
 * heap before them. Prints one JSON line, `{"bytes": …}` a request.
 *
 * A process of its own: read in the benchmark's process after its rounds,
 * the sockets and pools the rounds left were still being let go during the
 * reading, and over HTTP on Node 22–26 it came out at 124–159 B instead of
 * about 1,000; read before the rounds, its freed memory went under the
 * listeners' RSS readings.
 *
 * Usage: `<runtime> scale_pending.{ts,mjs} <http|nats> <server URL> <count>`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- the JSON line is the answer

import process from "node:process";
import { EventsClient, type EventTransport, Requester } from "@bus/integration";
import { connectNats } from "@bus/integration/nats";
import { memory } from "./scale_probe.ts";

/**
 * Heap per pending request: `count` requests to a name nobody answers, held
 * until every publish has returned, against the heap before them. They go
 * out `PUBLISH_BATCH` at a time, each batch once the one before has been
 * published: thousands of publishes at once would have the runtime's fetch
 * pool open as many sockets, whose heap is the pool's, not the requests'.
 */
const PUBLISH_BATCH = 32;

/** The heap `count` pending requests hold, a request. */
async function pendingHeapBytes(transport: EventTransport, count: number): Promise<number> {
  let published = 0;
  // Counts publishes as they return, so that only the pending entries remain when measured.
  const counting: EventTransport = {
    get canRefreshCredentials() {
      return transport.canRefreshCredentials;
    },
    publish: (event, options) => transport.publish(event, options).finally(() => published++),
    open: (options) => transport.open(options),
    close: () => Promise.resolve(),
  };
  const requester = new Requester({
    transport: counting,
    responseNames: ["scale.reply"],
    maxPending: count,
    timeout: 600_000,
  });
  await requester.readiness.waitReady();
  const before = await memory();
  const pending: Promise<unknown>[] = [];
  while (pending.length < count) {
    const batch = Math.min(PUBLISH_BATCH, count - pending.length);
    for (let i = 0; i < batch; i++) {
      pending.push(requester.request("scale.nobody", null).catch(() => {}));
    }
    while (published < pending.length) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const after = await memory();
  await requester.close();
  await Promise.all(pending);
  return (after.heap - before.heap) / count;
}

const [kind, url, countText] = process.argv.slice(2);
const count = Number(countText);
if (
  (kind !== "http" && kind !== "nats") || url === undefined ||
  !(Number.isInteger(count) && count > 0)
) {
  console.error("Usage: scale_pending <http|nats> <server URL> <count>");
  process.exit(2);
}
// The NATS transport as bench/scale.ts connects it: its stream and subjects.
const transport: EventTransport = kind === "http"
  ? new EventsClient({ baseUrl: url })
  : await connectNats({ servers: url, stream: "SCALE", subjectPrefix: "scale" });
// A small batch first, so the requester's code is compiled before the reading.
await pendingHeapBytes(transport, 100);
const bytes = await pendingHeapBytes(transport, count);
console.log(JSON.stringify({ bytes }));
process.exit(0);
