/**
 * The demo's NATS backend (`deno task demo --transport nats`): a
 * `nats-server -js` of its own on a free loopback port and a temporary
 * store, and a `NatsTransport` on it; or, when `NATS_URL` is set, that
 * server with the environment's credentials.
 *
 * @module
 */

import process from "node:process";
import type { EventTransport } from "../mod.ts";
import { connectNats, natsOptionsFromEnv } from "../nats.ts";
import { findNatsServer, startNatsServer } from "../tests/_nats_server.ts";

/** A transport for the demo, what to call it, and how to let go of both. */
export interface NatsBackend {
  transport: EventTransport;
  description: string;
  close(): Promise<void>;
}

/**
 * Connects to `NATS_URL`, or starts a nats-server and connects to it.
 *
 * @throws {Error} When `NATS_URL` is unset and `nats-server` is not on PATH
 * (one line, saying how to get it).
 */
export async function natsBackend(): Promise<NatsBackend> {
  if (process.env.NATS_URL) {
    const options = await natsOptionsFromEnv();
    const transport = await connectNats(options);
    return {
      transport,
      description: `NATS JetStream at ${options.servers.join(",")}`,
      close: () => transport.close(),
    };
  }
  if (findNatsServer() === undefined) {
    throw new Error(
      "Cannot run the demo on NATS: nats-server is not on PATH " +
        "(apt-get install nats-server, or set NATS_URL)",
    );
  }
  const server = await startNatsServer();
  const transport = await connectNats({ servers: server.url });
  return {
    transport,
    description:
      `NATS JetStream at ${server.url} (nats-server ${transport.connection.info?.version})`,
    close: async () => {
      await transport.close();
      await server[Symbol.asyncDispose]();
    },
  };
}
