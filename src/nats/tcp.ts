/**
 * `nats://` connections: `@nats-io/transport-node`'s TCP transport, with one
 * guard added. When nats.js gives up a socket it removes every listener and
 * destroys it; Deno's `node:net` can still deliver a read error
 * (`ECONNRESET`) scheduled just before, which then has no listener and
 * crashes the process (seen after a refused login). The guard keeps a
 * listener that drops such errors on every socket nats.js owns; errors while
 * the connection is in use still reach nats.js's own listener first.
 *
 * @module
 */

import type { Socket } from "node:net";
import {
  type ConnectionOptions,
  NatsConnectionImpl,
  setTransportFactory,
} from "@nats-io/nats-core/internal";
import type { NatsConnection } from "@nats-io/nats-core";
import { nodeResolveHost, NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";

const dropLateError = () => {};
const guarded = new WeakSet<Socket>();

/** Makes `socket` keep an error listener through `removeAllListeners()`; idempotent. */
function keepErrorListener(socket: Socket): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  const removeAll = socket.removeAllListeners;
  socket.removeAllListeners = function (this: Socket, ...args) {
    removeAll.apply(this, args);
    if (args.length === 0 || args[0] === "error") this.on("error", dropLateError);
    return this;
  } as Socket["removeAllListeners"];
  socket.on("error", dropLateError);
}

/** nats.js's Node transport, with every socket it dials guarded. */
class GuardedNodeTransport extends NodeTransport {
  override async dial(hostPort: { hostname: string; port: number }): Promise<Socket> {
    const socket = await super.dial(hostPort);
    keepErrorListener(socket);
    return socket;
  }

  override setupHandlers(): void {
    super.setupHandlers();
    // After a TLS upgrade the socket in use is the TLS one, not the dialled one.
    keepErrorListener(this.socket);
  }
}

/**
 * Connects over TCP, as `@nats-io/transport-node`'s `connect()` does (whose
 * transport factory is a nats.js module-global too), with the guarded
 * transport.
 */
export function connectTcp(options: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({ factory: () => new GuardedNodeTransport(), dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}
