/**
 * connectNats() and new NatsTransport(): bad options fail before anything
 * connects, refused credentials are an AuthError, an unreachable or silent
 * server a TransientError within the bound, never a hang; credentials never
 * show. Against real nats-servers with user/password, token and nkey
 * authentication, and over WebSocket.
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { inspect } from "node:util";
import { nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { AuthError, EventsApiError, TransientError } from "../mod.ts";
import { connectNats, NatsTransport, type NatsTransportInit } from "../nats.ts";
import { freePort, natsTest, nextEvent, startNatsServer } from "./_nats_server.ts";

const SECRET = "s3cret-passw0rd";

Deno.test("connectNats() rejects bad options with TypeError or RangeError before connecting", async () => {
  const cases: Array<[Record<string, unknown>, ErrorConstructor, RegExp]> = [
    [
      { servers: "http://127.0.0.1:4222" },
      TypeError,
      /"http:\/\/127\.0\.0\.1:4222" is not a nats:/,
    ],
    [{ servers: "not a url" }, TypeError, /"not a url" is not a nats:/],
    [{ servers: [] }, TypeError, /non-empty list/],
    [{ servers: 4222 }, TypeError, /server URL/],
    [{ servers: ["nats://a:1", "ws://b:2"] }, TypeError, /mix/],
    [{ servers: `nats://alice:${SECRET}@127.0.0.1:1` }, TypeError, /\[redacted\]@127\.0\.0\.1:1/],
    [{ servers: "nats://h:1", token: "t", user: "u", password: "p" }, TypeError, /give one of/],
    [{ servers: "nats://h:1", user: "u" }, TypeError, /user and password go together/],
    [{ servers: "nats://h:1", password: SECRET }, TypeError, /user and password go together/],
    [{ servers: "nats://h:1", token: "" }, TypeError, /token: expected a non-empty string/],
    [{ servers: "nats://h:1", nkeySeed: `SU${SECRET}` }, TypeError, /not an nkey seed/],
    [{ servers: "nats://h:1", creds: SECRET }, TypeError, /not a NATS credentials file/],
    [{ servers: "nats://h:1", connectTimeout: 0 }, RangeError, /connectTimeout/],
    [{ servers: "nats://h:1", ackWait: -1 }, RangeError, /ackWait/],
    [{ servers: "nats://h:1", maxDeliver: 1.5 }, RangeError, /maxDeliver/],
    [{ servers: "nats://h:1", maxAge: "1h" }, TypeError, /maxAge: current value is 1h/],
    [{ servers: "nats://h:1", shareListenersAfter: -1 }, RangeError, /shareListenersAfter/],
    [{ servers: "nats://h:1", shareListenersAfter: 1.5 }, RangeError, /shareListenersAfter/],
    [{ servers: "nats://h:1", shareListenersAfter: "8" }, TypeError, /shareListenersAfter/],
    [{ servers: "nats://h:1", stream: "a.b" }, TypeError, /stream: current value is "a\.b"/],
    [{ servers: "nats://h:1", subjectPrefix: "bus.*" }, TypeError, /subjectPrefix/],
  ];
  for (const [options, type, message] of cases) {
    await assert.rejects(
      connectNats(options as never),
      (error) =>
        error instanceof type && message.test(error.message) && !error.message.includes(SECRET),
      JSON.stringify(options),
    );
  }
});

Deno.test("new NatsTransport() rejects something that is not a connection", () => {
  assert.throws(() => new NatsTransport({} as NatsTransportInit), /not a NATS connection/);
});

natsTest(
  "connectNats() rejects refused user/password credentials with AuthError at once",
  async () => {
    await using server = await startNatsServer({ args: ["--user", "alice", "--pass", SECRET] });
    for (const options of [{ user: "alice", password: "wrong" }, {}, { token: "nope" }]) {
      await assert.rejects(
        connectNats({ servers: server.url, connectTimeout: 5_000, ...options }),
        (error) =>
          error instanceof AuthError && error.code === "invalid_auth" &&
          /refused the credentials/.test(error.message) && !error.message.includes("wrong"),
      );
    }
    await using transport = await connectNats({
      servers: server.url,
      user: "alice",
      password: SECRET,
    });
    assert.deepEqual(await transport.publish({ name: "a.b" }), { id: "1", name: "a.b" });
    for (const shown of [String(transport), inspect(transport), Deno.inspect(transport)]) {
      assert.equal(shown, `NatsTransport(127.0.0.1:${server.port})`);
    }
  },
);

natsTest("connectNats() logs in with a token and rejects a wrong one with AuthError", async () => {
  await using server = await startNatsServer({ args: ["--auth", SECRET] });
  await assert.rejects(connectNats({ servers: server.url, token: "wrong" }), AuthError);
  await using transport = await connectNats({ servers: server.url, token: SECRET });
  assert.equal((await transport.publish({ name: "a.b" })).id, "1");
});

natsTest("connectNats() logs in with an nkey seed and rejects another user's seed", async () => {
  const user = nkeys.createUser();
  const stranger = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  await using server = await startNatsServer({
    config: `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`,
  });
  await assert.rejects(
    connectNats({ servers: server.url, nkeySeed: new TextDecoder().decode(stranger.getSeed()) }),
    AuthError,
  );
  await using transport = await connectNats({ servers: server.url, nkeySeed: seed });
  assert.equal((await transport.publish({ name: "a.b" })).id, "1");
});

Deno.test("connectNats() rejects with TransientError when nothing listens on the port", async () => {
  const port = await freePort();
  await assert.rejects(
    connectNats({ servers: `nats://127.0.0.1:${port}` }),
    (error) => error instanceof TransientError && error.code === "network",
  );
});

Deno.test("connectNats() gives up on a server that never answers after connectTimeout", async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = silent.address() as { port: number };
  try {
    await assert.rejects(
      connectNats({ servers: `nats://127.0.0.1:${port}`, connectTimeout: 300 }),
      (error) => error instanceof TransientError && error.code === "timeout",
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

natsTest("connectNats() connects over WebSocket to a ws:// server", async () => {
  const wsPort = await freePort();
  await using server = await startNatsServer({
    config: `websocket { host: "127.0.0.1", port: ${wsPort}, no_tls: true }\n`,
  });
  await using transport = await connectNats({ servers: `ws://127.0.0.1:${wsPort}` });
  const subscription = await transport.open({ name: "a.b" });
  await transport.publish({ name: "a.b", payload: "over ws" });
  assert.equal((await nextEvent(subscription)).payload, "over ws");
  await subscription.close();
  assert.ok(server.log.includes("websocket"));
});

natsTest("NatsTransport.close() leaves a connection the application made open", async () => {
  await using server = await startNatsServer();
  const connection = await connect({ servers: server.url });
  try {
    const transport = new NatsTransport({ connection, ackWait: 1_000 });
    const subscription = await transport.open({ name: "a.b" });
    await transport.close();
    assert.deepEqual(await subscription.next(), { done: true, value: undefined });
    assert.equal(connection.isClosed(), false);
    await assert.rejects(
      transport.open({ name: "a.b" }),
      (error) => error instanceof EventsApiError && error.code === "closed",
    );
  } finally {
    await connection.close();
  }
});
