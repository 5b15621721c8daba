/**
 * Replies, the transport's request router, against a real nats-server:
 * answers routed to their requests, no responders, a timeout swept, and
 * every pending request failed at once when the connection breaks or the
 * router closes.
 */
import assert from "node:assert/strict";
import { errors } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { EventsApiError, TransientError } from "../mod.ts";
import { ConnectionStatus } from "../src/nats/connection_status.ts";
import { Replies } from "../src/nats/replies.ts";
import { NatsTransportStats } from "../src/nats/stats.ts";
import { natsTest, startNatsServer } from "./_nats_server.ts";

const encoder = new TextEncoder();

natsTest(
  "Replies.request() routes each answer to its request, and times out the silent ones",
  async () => {
    await using server = await startNatsServer();
    const connection = await connect({ servers: server.url });
    const replies = new Replies(
      connection,
      new ConnectionStatus(connection, "test", new NatsTransportStats()),
      300,
    );
    try {
      connection.subscribe("echo", {
        callback: (_error, message) => void message.respond(message.data),
      });
      connection.subscribe("silent", { callback: () => {} });
      const answers = await Promise.all(
        ["a", "b", "c"].map((text) => replies.request("echo", encoder.encode(text))),
      );
      assert.deepEqual(answers.map((answer) => answer.string()), ["a", "b", "c"]);
      await assert.rejects(
        replies.request("nobody.listens", encoder.encode("x")),
        (error) => error instanceof errors.NoRespondersError,
      );
      const started = performance.now();
      await assert.rejects(
        replies.request("silent", encoder.encode("x")),
        (error) => error instanceof TransientError && error.code === "timeout",
      );
      assert.ok(performance.now() - started >= 290, "not before its timeout");
    } finally {
      replies.close();
      await connection.close();
    }
  },
);

natsTest(
  "Replies fails every pending request at once when the connection breaks, and after close()",
  async () => {
    await using server = await startNatsServer();
    const connection = await connect({ servers: server.url, maxReconnectAttempts: -1 });
    const replies = new Replies(
      connection,
      new ConnectionStatus(connection, "test", new NatsTransportStats()),
      30_000,
    );
    try {
      connection.subscribe("silent", { callback: () => {} });
      await connection.flush();
      const started = performance.now();
      const failed = assert.rejects(
        replies.request("silent", encoder.encode("x")),
        (error) =>
          error instanceof TransientError && error.code === "disconnected" &&
          // Worded for what waited, not for a listener.
          error.message === "Cannot get an answer on silent: the NATS connection was lost",
      );
      await server.kill();
      await failed;
      assert.ok(performance.now() - started < 10_000, "long before the 30 s timeout");
      replies.close();
      await assert.rejects(
        replies.request("silent", encoder.encode("x")),
        (error) => error instanceof EventsApiError && error.code === "closed",
      );
    } finally {
      replies.close();
      await connection.close();
    }
  },
);
