/**
 * NatsTransport.publish() and the stream it sets up, against a real
 * nats-server: the stored envelope, the id, the stream created or used as
 * it is, and every bad input.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { BadRequestError, ConfigError, EventsApiError } from "../mod.ts";
import { connectNats } from "../nats.ts";
import { patternCovers } from "../src/nats/stream_setup.ts";
import { natsTest, startNatsServer } from "./_nats_server.ts";

Deno.test("patternCovers() tells whether a stream subject captures every subject under the prefix", () => {
  for (const pattern of [">", "bus.>", "bus.events.>", "*.events.>", "bus.*.>"]) {
    assert.ok(patternCovers(pattern, "bus.events.>"), pattern);
  }
  for (const pattern of ["bus.events", "bus.events.*", "bus.events.x.>", "other.>", "bus.*"]) {
    assert.ok(!patternCovers(pattern, "bus.events.>"), pattern);
  }
});

natsTest(
  "NatsTransport.publish() stores the envelope as JSON and returns the stream sequence as id",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    const first = await transport.publish({
      id: "ignored",
      name: "x.y.request",
      correlationId: "c-1",
      payload: { n: 1 },
      future: { kept: true },
    });
    const second = await transport.publish({ name: "x.y.request", version: "v2", timestamp: "t" });
    assert.deepEqual([first, second], [
      { id: "1", name: "x.y.request" },
      { id: "2", name: "x.y.request" },
    ]);
    const jsm = await jetstreamManager(transport.connection);
    const stored = await jsm.streams.getMessage("BUS_EVENTS", { seq: 1 });
    assert.ok(stored);
    assert.equal(stored.subject, "bus.events.x.y.request");
    const body = stored.json<Record<string, unknown>>();
    assert.equal(body.id, undefined, "the server stamps the id, a given one is dropped");
    assert.deepEqual(
      { ...body, timestamp: typeof body.timestamp },
      {
        name: "x.y.request",
        correlationId: "c-1",
        payload: { n: 1 },
        future: { kept: true },
        version: "v1",
        timestamp: "string",
      },
    );
    assert.ok(!Number.isNaN(Date.parse(body.timestamp as string)));
    const kept = (await jsm.streams.getMessage("BUS_EVENTS", { seq: 2 }))!.json<
      Record<string, unknown>
    >();
    assert.deepEqual([kept.version, kept.timestamp], ["v2", "t"]);
    assert.equal(transport.stats.published, 2);
  },
);

natsTest(
  "NatsTransport.publish() creates the stream with file storage, limits retention and maxAge",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({
      servers: server.url,
      stream: "MY_EVENTS",
      subjectPrefix: "acme.bus",
      maxAge: 60_000,
    });
    await transport.publish({ name: "a.b" });
    const info = await (await jetstreamManager(transport.connection)).streams.info("MY_EVENTS");
    assert.deepEqual(info.config.subjects, ["acme.bus.>"]);
    assert.equal(info.config.storage, "file");
    assert.equal(info.config.retention, "limits");
    assert.equal(info.config.max_age, 60_000 * 1_000_000);
    assert.equal(info.state.messages, 1);
  },
);

natsTest("NatsTransport.publish() uses an existing stream as it is", async () => {
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url, maxAge: 60_000 });
  const jsm = await jetstreamManager(transport.connection);
  await jsm.streams.add({ name: "BUS_EVENTS", subjects: ["bus.*.>"], max_msgs: 10 });
  await transport.publish({ name: "a.b" });
  const info = await jsm.streams.info("BUS_EVENTS");
  assert.deepEqual([info.config.subjects, info.config.max_age, info.config.max_msgs], [
    ["bus.*.>"],
    0,
    10,
  ]);
});

natsTest(
  "NatsTransport.publish() rejects with ConfigError when the stream does not capture the prefix",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    const jsm = await jetstreamManager(transport.connection);
    await jsm.streams.add({ name: "BUS_EVENTS", subjects: ["other.>"] });
    await assert.rejects(
      transport.publish({ name: "a.b" }),
      (error) =>
        error instanceof ConfigError && error.variable === "stream" &&
        /capture bus\.events\.>/.test(error.message),
    );
    await assert.rejects(
      transport.open({ name: "a.b" }),
      (error) => error instanceof ConfigError,
      "opening checks the stream too",
    );
  },
);

natsTest("NatsTransport.publish() sets the stream up again after it was deleted", async () => {
  await using server = await startNatsServer();
  await using transport = await connectNats({ servers: server.url });
  await transport.publish({ name: "a.b" });
  await (await jetstreamManager(transport.connection)).streams.delete("BUS_EVENTS");
  assert.deepEqual(await transport.publish({ name: "a.b" }), { id: "1", name: "a.b" });
});

natsTest("NatsTransport.publish() rejects bad input with a clear error", async () => {
  await using server = await startNatsServer({ config: "max_payload: 4096" });
  await using transport = await connectNats({ servers: server.url });
  await assert.rejects(transport.publish({ name: "Bad Name" }), TypeError);
  await assert.rejects(transport.publish({ name: "a.*" }), /wildcards are not allowed/);
  await assert.rejects(
    transport.publish({ name: "a.b", payload: "x".repeat(8192) }),
    (error) => error instanceof BadRequestError && error.code === "payload_too_large",
  );
  const aborted = AbortSignal.abort(new Error("stop"));
  await assert.rejects(transport.publish({ name: "a.b" }, { signal: aborted }), /^Error: stop$/);
  await transport.close();
  await assert.rejects(
    transport.publish({ name: "a.b" }),
    (error) => error instanceof EventsApiError && error.code === "closed",
  );
});

natsTest(
  "NatsTransport.publish() rejects with signal.reason when the signal aborts meanwhile",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    await transport.publish({ name: "a.b" });
    const controller = new AbortController();
    const reason = new Error("gone");
    const publishing = transport.publish({ name: "a.b" }, { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(publishing, (error) => error === reason);
  },
);
