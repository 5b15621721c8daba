/**
 * The transport seam: what every layer above a transport (listener, worker,
 * requester, host) needs from one, as types only. `EventsClient` is the
 * HTTP Events API transport; the NATS JetStream transport lives behind its
 * own entry point. Layers take a transport by constructor injection, never
 * from a module-global factory.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { InvalidInputHandler } from "./decode/types.ts";
import type { EventEnvelope } from "./envelope.ts";

/** How a stream shares events between listeners. */
export type Delivery = "broadcast" | "unicast";

/** The transport's acknowledgement of a published event. */
export interface PublishResult {
  /**
   * The id the transport stamped; `undefined` when the server accepted the
   * event without telling its id (an HTTP 2xx answer without one). The event
   * was still published: do not publish it again.
   */
  id: string | undefined;
  /** The event's name. */
  name: string;
}

/** Options of one publish call. */
export interface PublishOptions {
  /** Aborts the request; the call rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /**
   * The caller has no use for the event's id: a transport may resolve with
   * `id: undefined` and skip reading it (over HTTP, the answer's body is
   * not read). Acceptance is confirmed all the same. `Requester` sets it
   * for its requests while no tracing SDK wants the id on the send span.
   *
   * @default {false}
   */
  discardId?: boolean | undefined;
}

/** What to subscribe to, and from where: the options of {@linkcode EventTransport.open}. */
export interface StreamOptions {
  /** The event name to listen to (no wildcards). */
  name: string;
  /** `broadcast`: every listener gets every event; `unicast`: one consumer of the group does. @default {"broadcast"} */
  delivery?: Delivery | undefined;
  /** Unicast group; workers in one group compete. */
  group?: string | undefined;
  /** Stable consumer name within the group. */
  consumer?: string | undefined;
  /** Send the retained history first. */
  replay?: boolean | undefined;
  /** `false` ends the subscription once the retained history was sent. */
  follow?: boolean | undefined;
  /**
   * How many envelopes the reader handles at once (a worker's
   * `concurrency`): a transport that fetches ahead (a JetStream pull
   * consumer) buffers about that many, since a buffered unicast event's
   * redelivery clock is already running. Ignored over HTTP.
   *
   * @default {1}
   */
  concurrency?: number | undefined;
  /**
   * Resume after this point: an envelope id sent as `Last-Event-ID` over
   * HTTP, a stream sequence for JetStream. Take it from
   * {@linkcode EventSubscription.lastEventId}.
   */
  lastEventId?: string | undefined;
  /** Stops the subscription; iteration then throws `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Called for each skipped malformed record. */
  onInvalid?: InvalidInputHandler | undefined;
  /**
   * Ask for freshly issued credentials for this open, after the previous
   * attempt failed with an `AuthError`. Only meaningful when
   * {@linkcode EventTransport.canRefreshCredentials} is true.
   */
  refreshCredentials?: boolean | undefined;
}

/**
 * How the worker's pipeline ended with one event:
 *
 * - `done`: handled (successfully, or answered with an error response);
 *   never deliver it again.
 * - `retry`: deliver it again after `delay` ms, where the transport can
 *   redeliver (JetStream `nak(delay)`); a transport that cannot treats it
 *   as settled.
 * - `dead`: it can never succeed (JetStream `term(reason)`); it has been
 *   dead-lettered or dropped.
 */
export type Settlement =
  | { readonly type: "done" }
  | { readonly type: "retry"; readonly delay: number }
  | { readonly type: "dead"; readonly reason: string };

/**
 * One open subscription: async-iterate it for envelopes. It ends when the
 * transport ends it (HTTP: the server closed the response); it throws
 * `TransientError` when the connection breaks, `StreamProtocolError` on
 * framing it cannot skip, `AuthError` / `BadRequestError` on refusals, and
 * the abort reason when the caller's signal aborts. Breaking out of a loop,
 * `return()` and `close()` all close it.
 *
 * Every envelope handed out should be settled exactly once with
 * {@linkcode EventSubscription.settle}; the resume point moves only over
 * settled envelopes, so an event still in a handler is delivered again after
 * a reconnect where the transport can do that.
 */
export interface EventSubscription extends AsyncIterableIterator<EventEnvelope, undefined> {
  /**
   * The resume point: every envelope up to it, in delivery order, has been
   * settled. Pass it as {@linkcode StreamOptions.lastEventId} when
   * reopening. Before any envelope was settled, the point it was opened
   * with.
   */
  readonly lastEventId: string | undefined;
  /**
   * The server's own reconnect hint in ms (SSE `retry:`), the floor of the
   * next reconnect wait; `undefined` until the server sent one.
   */
  readonly reconnectHint: number | undefined;
  /**
   * Optional: resolves with every envelope that has arrived and was not
   * handed out yet, at least one (waiting like `next()` when none has), or
   * `undefined` once the subscription ended; rejects as `next()` would.
   * Each envelope in it counts as handed out and wants its settlement. A
   * consumer that loops over the batch pays one promise per batch instead
   * of one per envelope; the listener uses it when a transport has it, and
   * `next()` otherwise.
   */
  nextBatch?(): Promise<readonly EventEnvelope[] | undefined>;
  /**
   * Whether a `retry` settlement makes the transport deliver the event again
   * (JetStream: `nak(delay)`, which survives a crash). Where it does not
   * (HTTP), the worker retries in process instead.
   */
  readonly redelivers: boolean;
  /**
   * Which delivery of `event` this is, from 1: JetStream's delivery count,
   * so attempts add up across redeliveries and crashes; always 1 where the
   * transport does not redeliver.
   */
  attempt(event: EventEnvelope): number;
  /**
   * Tells the transport how `event` (an envelope this subscription handed
   * out) ended. HTTP moves the resume point; JetStream acks, naks with a
   * delay or terminates. A second settlement of the same event is ignored.
   * Never rejects: a settlement that cannot reach the server is logged,
   * and the transport's own redelivery takes over.
   */
  settle(event: EventEnvelope, settlement: Settlement): Promise<void>;
  /**
   * Tells the transport that `event` is still being handled, so it is not
   * redelivered elsewhere meanwhile (JetStream `working()`); a no-op where
   * delivery is at-most-once.
   */
  working(event: EventEnvelope): Promise<void>;
  /**
   * How often, in ms, a handler still running should call
   * {@linkcode EventSubscription.working} so the event is not redelivered
   * (JetStream: half of `ackWait`); `undefined` where nothing is
   * redelivered (HTTP).
   */
  readonly workingInterval?: number | undefined;
  /** Stops reading and releases the subscription. Idempotent. */
  close(): Promise<void>;
}

/**
 * A way to publish and subscribe to Bus events: the HTTP Events API
 * (`EventsClient`), NATS JetStream, or an in-memory one in tests.
 *
 * Transports throw the library's error classes (`AuthError`,
 * `BadRequestError`, `TransientError`, `StreamProtocolError`), so the
 * listener's reconnect policy is the same on every transport.
 */
export interface EventTransport {
  /**
   * Publishes one event and resolves with the transport's id for it.
   *
   * @throws {TypeError} When the event name is invalid.
   */
  publish(event: EventEnvelope, options?: PublishOptions): Promise<PublishResult>;
  /**
   * Opens a subscription and resolves once the transport confirmed it (the
   * moment a listener is "ready"); rejects with the mapped error otherwise.
   */
  open(options: StreamOptions): Promise<EventSubscription>;
  /**
   * Whether an `AuthError` can heal by reissuing credentials (a token
   * provider over HTTP), so a listener with token refresh on retries it.
   */
  readonly canRefreshCredentials: boolean;
  /**
   * The `messaging.system` of its spans and metrics (`nats` for JetStream).
   *
   * @default {"bus"}
   */
  readonly system?: string | undefined;
  /** Releases what the transport owns (a connection); idempotent. */
  close(): Promise<void>;
}
