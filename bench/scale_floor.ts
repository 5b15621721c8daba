/**
 * The floor of a listener for `bench/scale.ts`, in a fresh process of the
 * runtime under test, with no library code: over HTTP, N bare `fetch`
 * streams, each with a read pending, as a hand-rolled client would hold
 * them (what the runtime's own connections cost); over NATS, N bare
 * nats.js ordered consumers on one connection, each consumed, on the
 * stream `SCALE` the benchmark created. Prints one JSON line, the RSS and
 * heap each costs in bytes against the memory before them, and the CPU the
 * process uses while they sit idle, in % of one core over `idle seconds`
 * (read as the benchmark reads the library's: after `publishes` bare
 * publishes one after another, as many as the library's reading follows,
 * since what a burst leaves behind, pooled connections timing out and
 * collections, also falls into the idle time after it).
 *
 * A process of its own because memory a runtime freed stays in its
 * allocator: measured in the benchmark's process, either side of the
 * comparison would reuse what the other left.
 *
 * Usage: `<runtime> scale_floor.{ts,mjs} <http://… or nats://…> <listeners> [idle seconds] [publishes]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- the JSON line is the answer

import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import process from "node:process";
import { idleCpuPercent, memory } from "./scale_probe.ts";

const [url, countText, idleText = "5", publishesText = "0"] = process.argv.slice(2);
const count = Number(countText);
const idleSeconds = Number(idleText);
const publishes = Number(publishesText);
if (
  url === undefined || !(Number.isInteger(count) && count > 0) || !(idleSeconds > 0) ||
  !(Number.isInteger(publishes) && publishes >= 0)
) {
  console.error(
    "Usage: scale_floor <http://… or nats://…> <listeners> [idle seconds > 0] [publishes >= 0]",
  );
  process.exit(2);
}

/** Opens `count` bare fetch streams; resolves once all answered. */
async function fetchStreams(): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}/api/v1/events/stream?name=scale.floor${i}`, {
      headers: { accept: "application/x-ndjson" },
    });
    kept.push(response.body!.getReader().read().catch(() => {}));
  }
}

/** Opens `count` ordered consumers, each consumed; resolves once all exist. */
async function orderedConsumers(nc: NatsConnection): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < count; i++) {
    const consumer = await js.consumers.get("SCALE", {
      filter_subjects: `scale.floor${i}`,
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume({ max_messages: 256 });
    kept.push((async () => {
      for await (const message of messages) kept.push(message);
    })());
  }
}

const kept: unknown[] = [];
let open: () => Promise<void>;
let publish: () => Promise<unknown>;
if (url.startsWith("nats:")) {
  const nc = await connect({ servers: url });
  publish = () => jetstream(nc).publish("scale.floor", "");
  open = () => orderedConsumers(nc);
} else {
  publish = async () =>
    await (await fetch(`${url}/api/v1/events`, {
      method: "POST",
      body: JSON.stringify({ name: "scale.floor" }),
    })).body?.cancel();
  open = fetchStreams;
}
// One publish first, so that the connection itself is in the baseline.
await publish();
const before = await memory();
await open();
const after = await memory();
for (let i = 0; i < publishes; i++) await publish();
// As the benchmark does with the library's listeners: a moment to settle, then the idle time.
await new Promise((resolve) => setTimeout(resolve, 500));
const idle = await idleCpuPercent(idleSeconds);
console.log(JSON.stringify({
  rss: (after.rss - before.rss) / count,
  heap: (after.heap - before.heap) / count,
  idle,
}));
process.exit(0);
