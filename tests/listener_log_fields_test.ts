/**
 * What a listener's log records cost and say: no fields are made while
 * nothing logs (a host's thousand listeners opening made about 1 KiB of
 * garbage each), and the records that are logged name the stream's
 * address without credentials, following the transport's `url` when it
 * changes.
 */
import assert from "node:assert/strict";
import { listen, ListenerReadiness } from "../mod.ts";
import { captureLogs } from "./_log_capture.ts";
import { MemoryTransport } from "./_memory_transport.ts";

/** A memory transport with a `url` that counts its reads. */
class AddressedTransport extends MemoryTransport {
  address = "http://user:secret@events.example/api/v1/events?token=t";
  reads = 0;

  get url(): string {
    this.reads++;
    return this.address;
  }
}

/** Listens to `name` on `transport` until it is ready; resolves with its stop. */
async function openListener(
  transport: MemoryTransport,
  name: string,
): Promise<() => Promise<void>> {
  const stop = new AbortController();
  const readiness = new ListenerReadiness();
  const running = listen({
    transport,
    stream: { name },
    readiness,
    signal: stop.signal,
    onEvent: () => {},
  });
  await readiness.waitReady(AbortSignal.timeout(5_000));
  return async () => {
    stop.abort();
    await running;
  };
}

Deno.test("listen() makes no log fields while opening when nothing logs", async () => {
  const transport = new AddressedTransport();
  const stop = await openListener(transport, "example.quiet");
  assert.equal(transport.reads, 0, "the transport's url was not read for an unlogged record");
  await stop();
});

Deno.test("listen() logs the opening with its resume point and the url without credentials", async () => {
  await using records = await captureLogs("debug", ["bus-integration", "listener"]);
  const transport = new AddressedTransport();
  await (await openListener(transport, "example.logged"))();
  const opening = records.find((record) => record.rawMessage === "Opening stream for {name}");
  assert.ok(opening, "an opening record");
  assert.deepEqual(opening.properties, {
    name: "example.logged",
    url: "http://events.example/api/v1/events",
    delivery: "broadcast",
    group: undefined,
    consumer: undefined,
    lastEventId: undefined,
  });
  const open = records.find((record) => record.rawMessage === "Stream open for {name}");
  assert.equal(open?.properties.url, "http://events.example/api/v1/events");
});

Deno.test("listen() logs the transport's new url after it changed", async () => {
  await using records = await captureLogs("info", ["bus-integration", "listener"]);
  const transport = new AddressedTransport();
  await (await openListener(transport, "example.moved"))();
  transport.address = "http://other.example/api/v1/events";
  await (await openListener(transport, "example.moved"))();
  const urls = records.filter((record) => record.rawMessage === "Stream open for {name}")
    .map((record) => record.properties.url);
  assert.deepEqual(urls, [
    "http://events.example/api/v1/events",
    "http://other.example/api/v1/events",
  ]);
});
