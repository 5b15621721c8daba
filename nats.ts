/**
 * The NATS JetStream transport of `@bus/integration`: the same workers,
 * requesters and hosts as over the HTTP Events API, on a distributed engine
 * with at-least-once unicast delivery.
 *
 * - {@linkcode connectNats} connects (`nats://` over TCP, `ws://` / `wss://`
 *   over WebSocket) and returns a {@linkcode NatsTransport}; pass it as the
 *   `transport` of `runWorker`, `Requester`, `listenResponses` or `Host`.
 * - Events live in one stream (`BUS_EVENTS`, subjects `bus.events.>`); a
 *   unicast group is a durable pull consumer that every worker of the group
 *   shares; a broadcast listener reads through an ordered consumer.
 * - Settlement: `done` → `ack`, `retry` → `nak(delay)`, `dead` → `term`; a
 *   handler running longer than half of `ackWait` keeps its event with
 *   `working()`.
 *
 * Its npm dependencies (`@nats-io/*`) are reachable only from this entry
 * point, never from `@bus/integration` itself.
 *
 * @example An echo worker on NATS
 * ```ts
 * import { runWorker } from "@bus/integration";
 * import { connectNats } from "@bus/integration/nats";
 *
 * const transport = await connectNats({ servers: "nats://127.0.0.1:4222" });
 * await runWorker({
 *   transport,
 *   names: ["example.echo.request"],
 *   delivery: "unicast",
 *   group: "echo",
 *   handler: (event, publisher) => publisher.reply({ echo: event.payload }),
 * });
 * ```
 *
 * @module
 */

export {
  connectNats,
  type ConnectNatsOptions,
  NatsTransport,
  type NatsTransportInit,
} from "./src/nats/transport.ts";
export type { NatsConnectOptions } from "./src/nats/connection.ts";
export type { NatsConnection } from "./src/nats/connection.ts";
export {
  DEFAULT_ACK_WAIT,
  DEFAULT_MAX_AGE,
  DEFAULT_MAX_DELIVER,
  DEFAULT_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  type NatsTransportOptions,
  type ResolvedTransportOptions,
} from "./src/nats/options.ts";
export { NATS_ENV, type NatsEnvOptions, natsOptionsFromEnv } from "./src/nats/env.ts";
export { NatsTransportStats } from "./src/nats/stats.ts";
export { durableName, subjectFor } from "./src/nats/subjects.ts";
export {
  DEFAULT_IDEMPOTENCY_BUCKET,
  NatsIdempotencyStore,
  type NatsIdempotencyStoreOptions,
} from "./src/nats/idempotency_store.ts";
