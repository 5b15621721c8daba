/**
 * `NatsTransport`: the NATS JetStream {@linkcode EventTransport}, and
 * `connectNats()` to open one on a connection of its own.
 *
 * @module
 */

import { jetstream, type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import { getLogger } from "@logtape/logtape";
import { assertEventName, type EventEnvelope } from "../envelope.ts";
import { EventsApiError } from "../errors.ts";
import type {
  EventSubscription,
  EventTransport,
  PublishOptions,
  PublishResult,
  StreamOptions,
} from "../transport.ts";
import { openBroadcast } from "./broadcast.ts";
import {
  connectionSettings,
  type NatsConnection,
  type NatsConnectOptions,
  openConnection,
} from "./connection.ts";
import { ConnectionStatus } from "./connection_status.ts";
import { mapNatsError } from "./error_mapping.ts";
import { LastSequence } from "./last_sequence.ts";
import { LiveTail } from "./live_tail.ts";
import {
  type NatsTransportOptions,
  type ResolvedTransportOptions,
  resolveTransportOptions,
} from "./options.ts";
import { publishEvent } from "./publish.ts";
import { Replies } from "./replies.ts";
import { NatsTransportStats } from "./stats.ts";
import { StreamSetup } from "./stream_setup.ts";
import type { OpenContext } from "./subscription.ts";
import { openUnicast } from "./unicast.ts";

/** Options of `new NatsTransport()`: a connection the application made, and the mapping. */
export interface NatsTransportInit extends NatsTransportOptions {
  /**
   * An open nats.js connection. The transport uses it and never closes it:
   * `close()` only ends the transport's subscriptions.
   */
  connection: NatsConnection;
}

/** Options of {@linkcode connectNats}: where and how to connect, and the mapping. */
export interface ConnectNatsOptions extends NatsConnectOptions, NatsTransportOptions {}

const logger = getLogger(["bus-integration", "nats"]);
/** How long a JetStream answer (a PubAck, a confirmed ack) may take: nats.js's default. */
const API_TIMEOUT = 5_000;
let markOwned: (transport: NatsTransport) => void;

/**
 * Publishes and subscribes to Bus events on NATS JetStream, with
 * at-least-once unicast delivery: one stream (`stream`, subjects
 * `<subjectPrefix>.>`), a durable pull consumer per unicast (group, name),
 * an ordered consumer per broadcast listener for the first
 * `shareListenersAfter` (8) of them, and one ordered consumer the rest
 * share (the live tail), which takes the first ones over once it runs.
 * Share one transport between every worker and requester of a process.
 *
 * @example A worker and a requester on one NATS server
 * ```ts
 * import { Requester, runWorker } from "@bus/integration";
 * import { connectNats } from "@bus/integration/nats";
 *
 * const transport = await connectNats({ servers: "nats://127.0.0.1:4222", ackWait: 10_000 });
 * const stop = new AbortController();
 * const worker = runWorker({
 *   transport,
 *   names: ["example.echo.request"],
 *   delivery: "unicast",
 *   group: "echo",
 *   concurrency: 8,
 *   signal: stop.signal,
 *   handler: (event, publisher) => publisher.reply({ echo: event.payload }),
 * });
 * const requester = new Requester({ transport, responseNames: ["example.echo.response"] });
 * console.log(await requester.request("example.echo.request", { text: "hi" }));
 * await requester.close();
 * stop.abort();
 * await worker;
 * await transport.close();
 * ```
 */
export class NatsTransport implements EventTransport {
  /** NATS credentials are fixed for the connection's life: a refused login does not heal. */
  readonly canRefreshCredentials = false;
  /** The `messaging.system` of spans and metrics. */
  readonly system = "nats";
  /** Live counters over every subscription. */
  readonly stats: NatsTransportStats = new NatsTransportStats();
  /** The options in force, defaults filled in. */
  readonly options: ResolvedTransportOptions;
  readonly #connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #status: ConnectionStatus;
  readonly #replies: Replies;
  readonly #setup: StreamSetup;
  readonly #context: OpenContext;
  readonly #servers: string;
  readonly #subscriptions = new Set<EventSubscription>();
  #jsm: Promise<JetStreamManager> | undefined;
  #owned = false;
  #closed = false;

  static {
    markOwned = (transport) => transport.#owned = true;
  }

  /**
   * Wraps an open connection; nothing is asked of the server until the
   * first publish or open.
   *
   * @throws {TypeError} When `connection` is missing, or an option has the wrong type.
   * @throws {RangeError} When `ackWait`, `maxDeliver` or `maxAge` is out of range.
   */
  constructor(init: NatsTransportInit) {
    if (typeof init?.connection?.publish !== "function") {
      throw new TypeError("Cannot create NatsTransport: connection is not a NATS connection");
    }
    this.options = resolveTransportOptions(init);
    this.#connection = init.connection;
    this.#servers = init.connection.getServer();
    this.#js = jetstream(init.connection);
    this.#status = new ConnectionStatus(init.connection, this.#servers, this.stats);
    this.#replies = new Replies(init.connection, this.#status, API_TIMEOUT);
    const jsm = () => this.#manager();
    this.#setup = new StreamSetup(jsm, this.options);
    this.#context = {
      js: this.#js,
      replies: this.#replies,
      jsm,
      setup: this.#setup,
      options: this.options,
      status: this.#status,
      stats: this.stats,
      serverVersion: () => init.connection.info?.version,
      liveTail: new LiveTail(),
      lastSequence: new LastSequence(async () =>
        (await (await jsm()).streams.info(this.options.stream)).state.last_seq
      ),
    };
  }

  /** The nats.js connection underneath, for what the transport does not cover. */
  get connection(): NatsConnection {
    return this.#connection;
  }

  /**
   * Publishes one event and resolves with its stream sequence as `id`.
   *
   * @throws {TypeError} When the event name is invalid.
   * @throws {TransientError} When the connection is down or JetStream does not answer.
   * @throws {BadRequestError} When the event exceeds the server's `max_payload`.
   */
  async publish(event: EventEnvelope, options?: PublishOptions): Promise<PublishResult> {
    options ??= {};
    this.#assertOpen("publish event");
    const result = await publishEvent(
      {
        replies: this.#replies,
        setup: this.#setup,
        subjectPrefix: this.options.subjectPrefix,
        connected: () => this.#status.connected,
      },
      event,
      options,
    );
    this.stats.published++;
    return result;
  }

  /**
   * Opens a subscription once its consumer exists: a unicast group's
   * durable consumer (created or aligned with `ackWait` / `maxDeliver`), or
   * a broadcast listener's ordered consumer or its place on the live tail.
   *
   * @throws {TypeError} When the name is invalid, `lastEventId` is not a
   * stream sequence, or `follow: false` is asked of unicast delivery.
   * @throws {TransientError} While the connection is down or JetStream does not answer.
   */
  async open(options: StreamOptions): Promise<EventSubscription> {
    this.#assertOpen("open stream");
    assertEventName(options.name);
    if (options.signal?.aborted) throw options.signal.reason;
    const open = options.delivery === "unicast" ? openUnicast : openBroadcast;
    const subscription: EventSubscription = await open(
      this.#context,
      options,
      () => void this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    if (this.#closed || options.signal?.aborted) {
      await subscription.close();
      if (options.signal?.aborted) throw options.signal.reason;
    }
    return subscription;
  }

  /**
   * Closes every subscription; closes the connection too when
   * {@linkcode connectNats} opened it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#replies.close();
    this.#status.close();
    if (this.#owned) await this.#connection.close().catch(() => {});
  }

  /** Closes the transport at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The server the connection is on (`host:port`, no credentials): what `/readyz` shows it dials. */
  get url(): string {
    return this.#servers;
  }

  /** A summary without credentials, for logs: the server only. */
  toString(): string {
    return `NatsTransport(${this.#servers})`;
  }

  /** Keeps credentials out of `Deno.inspect` / `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Keeps credentials out of Node's and Bun's `util.inspect` / `console.log`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  #assertOpen(action: string): void {
    if (this.#closed) {
      throw new EventsApiError(`Cannot ${action}: the NatsTransport is closed`, { code: "closed" });
    }
  }

  /** The JetStream manager, made once; a failure (JetStream not up yet) is retried next time. */
  #manager(): Promise<JetStreamManager> {
    this.#jsm ??= jetstreamManager(this.#connection).catch((error) => {
      this.#jsm = undefined;
      throw mapNatsError(error, "use JetStream");
    });
    return this.#jsm;
  }
}

/**
 * Connects to NATS and returns a transport that owns the connection
 * (`close()` closes it). The first connect is bounded by `connectTimeout`
 * per server; after that the connection reconnects for as long as it is
 * open, and subscriptions are reopened by the listeners.
 *
 * @throws {TypeError} On a bad server URL or credentials option, or a
 * WebSocket URL on a runtime without `WebSocket`.
 * @throws {RangeError} When a numeric option is out of range.
 * @throws {AuthError} When the server refuses the credentials.
 * @throws {TransientError} When no server answers within `connectTimeout`.
 *
 * @example Connect with the environment's settings
 * ```ts
 * import { connectNats, natsOptionsFromEnv } from "@bus/integration/nats";
 *
 * const transport = await connectNats(await natsOptionsFromEnv());
 * ```
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsTransport> {
  const settings = connectionSettings(options);
  resolveTransportOptions(options); // fail before connecting
  const connection = await openConnection(settings);
  let transport: NatsTransport;
  try {
    transport = new NatsTransport({ ...options, connection });
  } catch (error) {
    await connection.close().catch(() => {});
    throw error;
  }
  markOwned(transport);
  logger.info("Connected to NATS at {server} (server {version})", {
    server: connection.getServer(),
    version: connection.info?.version,
  });
  return transport;
}
