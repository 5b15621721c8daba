import assert from "node:assert/strict";
import { defineWorker, EventsApiError, EventsClient, Host, RegistrationError } from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { defaultMaxStreams, runtimeFetchLimit, StreamSlots } from "../src/stream_limit.ts";

/** A client on an in-process reference server: no sockets, so only the client's own limit counts. */
function inProcess(maxStreams: number) {
  const api = createEventsApi({ auth: false, heartbeatMs: 0 });
  const client = new EventsClient({
    baseUrl: "http://bus.test",
    fetch: (request) => api.fetch(request),
    maxStreams,
  });
  return { api, client };
}

Deno.test("StreamSlots() throws RangeError when max is not a positive integer", () => {
  for (const max of [0, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => new StreamSlots(max), RangeError, String(max));
  }
});

Deno.test("StreamSlots.acquire() throws too_many_streams when every slot is taken, and a release frees one once", () => {
  const slots = new StreamSlots(2);
  const first = slots.acquire();
  slots.acquire();
  assert.equal(slots.open, 2);
  assert.throws(
    () => slots.acquire(),
    (error) =>
      error instanceof EventsApiError && error.code === "too_many_streams" &&
      error.message.includes("already holds 2 streams open") &&
      error.message.includes("maxStreams"),
  );
  first();
  first();
  assert.equal(slots.open, 1);
  slots.acquire();
  assert.equal(slots.open, 2);
});

Deno.test("StreamSlots.acquire() never refuses without a max", () => {
  const slots = new StreamSlots(undefined);
  for (let i = 0; i < 10_000; i++) slots.acquire();
  assert.equal(slots.open, 10_000);
});

Deno.test("runtimeFetchLimit() and defaultMaxStreams() are undefined on Deno, which does not cap fetch", () => {
  assert.equal(runtimeFetchLimit(), undefined);
  assert.equal(defaultMaxStreams(), undefined);
});

Deno.test("EventsClient() throws RangeError when maxStreams is not a positive integer", () => {
  for (const maxStreams of [0, -3, 2.5]) {
    assert.throws(
      () => new EventsClient({ baseUrl: "http://bus.test", maxStreams }),
      /Cannot use maxStreams: current value is/,
    );
  }
});

Deno.test("EventsClient.open() rejects past maxStreams, and a closed stream frees its slot", async () => {
  const { api, client } = inProcess(2);
  const first = await client.open({ name: "limit.a" });
  const second = await client.open({ name: "limit.b" });
  await assert.rejects(
    client.open({ name: "limit.c" }),
    (error) => error instanceof EventsApiError && error.code === "too_many_streams",
  );
  await first.close();
  const third = await client.open({ name: "limit.c" });
  await second.close();
  await third.close();
  await api.close();
});

Deno.test("EventsClient.open() gives the slot back when the server refuses the stream", async () => {
  const { api, client } = inProcess(1);
  api.faults.failNext("stream", { status: 503 });
  await assert.rejects(client.open({ name: "limit.a" }), /503|Service|unavailable/i);
  const stream = await client.open({ name: "limit.a" });
  await stream.close();
  await api.close();
});

Deno.test("EventsClient.stream() counts against maxStreams until the loop ends", async () => {
  const { api, client } = inProcess(1);
  await client.publish({ name: "limit.a", payload: 1 });
  for await (const _ of client.stream({ name: "limit.a", replay: true })) {
    await assert.rejects(client.open({ name: "limit.b" }), /too_many_streams|already holds 1/);
    break;
  }
  const stream = await client.open({ name: "limit.b" });
  await stream.close();
  await api.close();
});

Deno.test("Host.run() rejects naming the registration past the client's maxStreams instead of leaving it waiting", async () => {
  const { api, client } = inProcess(2);
  const host = new Host({
    transport: client,
    reconnect: { min: 1, max: 1 },
    registrations: ["a", "b", "c"].map((name) =>
      defineWorker({ name, names: [`limit.${name}`], handler: () => {} })
    ),
  });
  const error = await host.run().then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof RegistrationError, String(error));
  assert.ok(error.cause instanceof EventsApiError);
  assert.equal(error.cause.code, "too_many_streams");
  assert.equal(host.status, "failed");
  await api.close();
});
