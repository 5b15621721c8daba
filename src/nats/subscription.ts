/**
 * What the unicast and broadcast subscriptions share: reading JetStream
 * messages as envelopes, from a consumer of their own or from a
 * {@linkcode MessageSource} the live tail feeds, skipping what is not one,
 * the settled-prefix resume point, and ending with a `TransientError` when
 * the connection breaks, heartbeats stop, or the consumer or stream goes
 * missing ({@linkcode watchConsumer}), so the listener reopens the
 * subscription (and recreates the consumer) with its reconnect policy and
 * readiness flips.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type {
  ConsumerMessages,
  ConsumerNotification,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
} from "@nats-io/jetstream";
import { getLogger } from "@logtape/logtape";
import { unwatchAbort, watchAbort } from "../abort_watch.ts";
import type { EventEnvelope } from "../envelope.ts";
import { TransientError } from "../errors.ts";
import { type InvalidInput, type InvalidInputHandler, report } from "../decode/types.ts";
import type { EventSubscription, Settlement } from "../transport.ts";
import type { ConnectionStatus } from "./connection_status.ts";
import { decodeMessage, isEnvelope } from "./decode.ts";
import { isMissingStream, mapNatsError } from "./error_mapping.ts";
import type { LastSequence } from "./last_sequence.ts";
import type { LiveTail } from "./live_tail.ts";
import type { ResolvedTransportOptions } from "./options.ts";
import type { Replies } from "./replies.ts";
import { SettledPrefix } from "./settled_prefix.ts";
import type { NatsTransportStats } from "./stats.ts";
import type { StreamSetup } from "./stream_setup.ts";

/** What opening a subscription needs from the transport. */
export interface OpenContext {
  /** The JetStream client of the connection. */
  readonly js: JetStreamClient;
  /** Where answers to the transport's requests (confirmed acks) come back. */
  readonly replies: Replies;
  /** The JetStream manager of the connection. */
  jsm(): Promise<JetStreamManager>;
  /** The stream every event lives in. */
  readonly setup: StreamSetup;
  /** The transport's options. */
  readonly options: ResolvedTransportOptions;
  /** The connection's state. */
  readonly status: ConnectionStatus;
  /** The transport's counters. */
  readonly stats: NatsTransportStats;
  /** The version of the server the connection is on, e.g. `2.9.10`. */
  serverVersion(): string | undefined;
  /** The consumer the transport's broadcast listeners share. */
  readonly liveTail: LiveTail;
  /** The stream's last sequence, one request for the callers of a moment. */
  readonly lastSequence: LastSequence;
}

/**
 * Runs `work` (creating a consumer, say) once the connection is up and the
 * stream is set up; when the stream turns out to be missing (deleted since),
 * sets it up again and runs `work` once more.
 *
 * @throws {TransientError} At once while the connection is down.
 */
export async function withStream<T>(context: OpenContext, work: () => Promise<T>): Promise<T> {
  if (context.status.closedWith !== undefined) throw context.status.closedWith;
  if (!context.status.connected) {
    throw new TransientError("Cannot open stream: the NATS connection is down", {
      code: "disconnected",
    });
  }
  await context.setup.ensure();
  try {
    return await work();
  } catch (error) {
    if (!isMissingStream(error)) throw error;
    context.setup.forget();
    await context.setup.ensure();
    return await work();
  }
}

/**
 * Who reads a {@linkcode MessageSource}: told of one message (or the end)
 * per {@linkcode MessageSource.read}, or of why reading failed.
 */
export interface MessageReader {
  /** The next message, or `done` once the source was stopped. */
  received(result: IteratorResult<JsMsg, undefined>): void;
  /** Reading failed with `error` (the subscription ends with it). */
  readFailed(error: unknown): void;
}

/**
 * Where a subscription's messages come from: a consumer of its own, or the
 * live tail's feed. Callbacks rather than a promise per read: an idle
 * listener of the tail then waits on one promise, its subscription's.
 */
export interface MessageSource {
  /**
   * Tells `reader` of the next message, in stream order, once: at once
   * when one is ready (before returning), else when it comes. After
   * `stop()` that is `done`.
   */
  read(reader: MessageReader): void;
  /** Ends reading: a pending read gets `done`. */
  stop(): void;
}

/** What every subscription is opened with, besides where its messages come from. */
export interface CommonParts {
  /** The event name subscribed to. */
  name: string;
  /** The resume point it was opened with. */
  resumeId: string | undefined;
  /** The transport's counters. */
  stats: NatsTransportStats;
  /** Told about skipped messages. */
  onInvalid: InvalidInputHandler | undefined;
  /** The caller's signal: aborting it ends the subscription. */
  signal: AbortSignal | undefined;
  /** Runs once when the subscription closes. */
  onClose: () => void;
}

/** A subscription reading a consumer of its own, watched for stalls and connection loss. */
export interface SubscriptionParts extends CommonParts {
  /** nats.js's message iterator of the consumer. */
  messages: ConsumerMessages;
  /** The transport's connection state. */
  status: ConnectionStatus;
}

/** A subscription fed by someone who watches the consumer for it (the live tail). */
export interface FedParts extends CommonParts {
  /** Its messages; failures come out of `next()`. */
  source: MessageSource;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
/** What a subscription's `next()` resolves with. */
type NextResult = IteratorResult<EventEnvelope, undefined>;
/** Missed idle heartbeats after which a consumer counts as stalled (nats.js's own limit). */
const MISSED_HEARTBEATS = 2;

/** Logs of both subscriptions. */
export const logger = getLogger(["bus-integration", "nats"]);

/** Why a consumer notification ends the subscription, or `undefined` when it does not. */
function stall(notification: ConsumerNotification): TransientError | undefined {
  switch (notification.type) {
    case "heartbeats_missed":
      return notification.count >= MISSED_HEARTBEATS
        ? new TransientError("Cannot keep listening: the JetStream consumer missed heartbeats", {
          code: "heartbeats_missed",
        })
        : undefined;
    case "consumer_deleted":
    case "consumer_not_found":
      return new TransientError("Cannot keep listening: the JetStream consumer is gone", {
        code: "consumer_deleted",
      });
    case "stream_not_found":
      return new TransientError("Cannot keep listening: the JetStream stream is gone", {
        code: "stream_not_found",
      });
    default:
      return undefined;
  }
}

/** Calls `fail` when the consumer behind `messages` stalls (see {@linkcode stall}), until `messages` ends. */
export function watchStalls(messages: ConsumerMessages, fail: (error: unknown) => void): void {
  (async () => {
    for await (const notification of messages.status()) {
      const error = stall(notification);
      if (error !== undefined) fail(error);
    }
  })().catch(() => {});
}

/**
 * Calls `fail` when the consumer behind `messages` stalls or the
 * connection breaks; returns the function that stops watching the
 * connection (the notifications end with `messages`).
 */
export function watchConsumer(
  messages: ConsumerMessages,
  status: ConnectionStatus,
  fail: (error: unknown) => void,
): () => void {
  watchStalls(messages, fail);
  return status.onLoss(fail);
}

/** Reads nats.js's iterator of `messages` as a {@linkcode MessageSource}. */
function sourceOf(messages: ConsumerMessages): MessageSource {
  const iterator = messages[Symbol.asyncIterator]();
  return {
    read: (reader) => {
      (iterator.next() as Promise<IteratorResult<JsMsg, undefined>>).then(
        (result) => reader.received(result),
        (error) => reader.readFailed(error),
      );
    },
    stop: () => messages.stop(),
  };
}

/** One open JetStream subscription; see the module doc. */
export abstract class NatsSubscription implements EventSubscription, MessageReader {
  /** JetStream has no SSE `retry:` (a getter: no field per subscription). */
  get reconnectHint(): undefined {
    return undefined;
  }
  abstract readonly redelivers: boolean;
  abstract readonly workingInterval: number | undefined;
  /** The transport's counters. */
  protected readonly stats: NatsTransportStats;
  readonly #source: MessageSource;
  readonly #name: string;
  readonly #signal: AbortSignal | undefined;
  readonly #onInvalid: InvalidInputHandler | undefined;
  // The resume point it was opened with, until `#resume` is made.
  readonly #openedAt: string | undefined;
  // Envelopes, and skipped messages (settled at once), in delivery order.
  // Made at the first delivery, like `#unsettled`: most listeners of a big
  // host sit idle.
  #resume: SettledPrefix<EventEnvelope | JsMsg> | undefined;
  // Handed out and not yet settled: the message each envelope came in.
  #unsettled: Map<EventEnvelope, JsMsg> | undefined;
  // Fields rather than an array of cleanup closures: one less array and
  // two closures per listener.
  readonly #onClose: () => void;
  // Stops watching the connection; only with a consumer of its own.
  #unwatch: (() => void) | undefined;
  #failure: { error: unknown } | undefined;
  // The pending `next()`'s promise, settled by `received()` or `readFailed()`.
  #resolve: ((result: NextResult | Promise<NextResult>) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #endAfterThis = false;
  #closed = false;

  /** Starts watching the signal, and the consumer and the connection when it has its own. */
  constructor(parts: SubscriptionParts | FedParts) {
    this.stats = parts.stats;
    this.#name = parts.name;
    this.#signal = parts.signal;
    this.#onInvalid = parts.onInvalid;
    this.#openedAt = parts.resumeId;
    this.#onClose = parts.onClose;
    if ("source" in parts) {
      this.#source = parts.source;
    } else {
      this.#source = sourceOf(parts.messages);
      this.#unwatch = watchConsumer(parts.messages, parts.status, (error) => this.#fail(error));
    }
    // The subscription watches the signal itself (see `handleEvent`), beside
    // every other listener of a host in one abort listener (abort_watch.ts).
    watchAbort(parts.signal, this);
  }

  get lastEventId(): string | undefined {
    return this.#resume === undefined ? this.#openedAt : this.#resume.resumeId;
  }

  /**
   * The caller's signal aborted: stops reading, so a pending `next()`
   * returns. A method rather than a closure per subscription: the
   * subscription is the signal's watcher.
   */
  handleEvent(): void {
    this.#stopReading();
  }

  /** JetStream's delivery count of the message `event` came in. */
  attempt(event: EventEnvelope): number {
    return this.#unsettled?.get(event)?.info.deliveryCount ?? 1;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next envelope. Not an async function: an idle listener is always
   * waiting here, and a suspended async frame (a generator, its registers,
   * the await's reactions) plus a promise per read of the source held
   * several hundred bytes more than this one promise, which the source's
   * callback settles.
   * Where the loop went round, the callback settles it with `next()` again.
   */
  next(): Promise<NextResult> {
    if (this.#closed) return Promise.resolve(DONE);
    if (this.#signal?.aborted) return this.#end(this.#signal.reason);
    if (this.#endAfterThis) return this.#end(undefined);
    if (this.#resolve !== undefined) {
      return Promise.reject(new Error("Cannot read a subscription twice at once"));
    }
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      try {
        this.#source.read(this);
      } catch (error) {
        this.readFailed(error);
      }
    });
  }

  /** Called by the source with the next message: settles the pending `next()`. */
  received(result: IteratorResult<JsMsg, undefined>): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    // Nobody asked: a source calls back once per read.
    if (resolve === undefined || reject === undefined) return;
    this.#resolve = this.#reject = undefined;
    try {
      resolve(this.#took(result));
    } catch (error) {
      reject(error);
    }
  }

  /** Called by the source when reading failed: settles the pending `next()`. */
  readFailed(error: unknown): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = this.#reject = undefined;
    resolve(this.#readFailed(error));
  }

  /** What `next()` resolves with once the source gave `result`. */
  #took(result: IteratorResult<JsMsg, undefined>): NextResult | Promise<NextResult> {
    if (this.#closed || this.#signal?.aborted) return this.next();
    if (result.done) {
      return this.#end(
        this.#failure?.error ??
          new TransientError("Cannot keep listening: the JetStream consumer stopped", {
            code: "eof",
          }),
      );
    }
    const message = result.value;
    const decoded = decodeMessage(message, this.#name);
    if (!isEnvelope(decoded)) {
      this.#skip(message, decoded);
      return this.next();
    }
    (this.#unsettled ??= new Map()).set(decoded, message);
    this.#resumePoint().add(decoded, decoded.id!);
    this.stats.delivered++;
    if (this.caughtUp(message)) this.#endAfterThis = true;
    return { done: false, value: decoded };
  }

  /** What `next()` settles with once the source's read rejected with `error`. */
  #readFailed(error: unknown): Promise<NextResult> {
    if (this.#closed || this.#signal?.aborted) return this.next();
    return this.#end(this.#failure?.error ?? mapNatsError(error, "keep listening"));
  }

  #resumePoint(): SettledPrefix<EventEnvelope | JsMsg> {
    return this.#resume ??= new SettledPrefix(this.#openedAt);
  }

  async return(): Promise<IteratorResult<EventEnvelope, undefined>> {
    await this.close();
    return DONE;
  }

  async settle(event: EventEnvelope, settlement: Settlement): Promise<void> {
    const message = this.#unsettled?.get(event);
    if (message === undefined) return;
    this.#unsettled?.delete(event);
    this.#resume?.settle(event);
    try {
      await this.acknowledge(message, event, settlement);
    } catch (error) {
      // JetStream redelivers what it never heard about.
      logger.warn("Cannot settle {name} {id}: {error}", { name: event.name, id: event.id, error });
    }
  }

  working(event: EventEnvelope): Promise<void> {
    const message = this.#unsettled?.get(event);
    if (message !== undefined && this.redelivers) message.working();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    this.#unwatch?.();
    this.#unwatch = undefined;
    unwatchAbort(this.#signal, this);
    // What nats.js fetched ahead and never handed out is left to JetStream's
    // redelivery: reading it back out would send the pull requests queued
    // between those messages, for a subscription that is going away.
    this.#stopReading();
    await this.closed();
  }

  /** Tells JetStream how `event` ended. */
  protected abstract acknowledge(
    message: JsMsg,
    event: EventEnvelope,
    settlement: Settlement,
  ): Promise<void>;

  /** Disposes of a message that is not an event envelope. */
  protected abstract discard(message: JsMsg): void;

  /** Whether `message` is the last one to hand out (`follow: false`). */
  protected caughtUp(_message: JsMsg): boolean {
    return false;
  }

  /** Runs once after the subscription closed. */
  protected closed(): Promise<void> {
    return Promise.resolve();
  }

  /** Ends reading: a pending `next()` returns, later ones see why. */
  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#stopReading();
  }

  #stopReading(): void {
    try {
      // Messages already buffered still come out of the iterator; then it ends.
      this.#source.stop();
    } catch {
      // The connection is closed already.
    }
  }

  /** Closes, then ends iteration: normally, or by throwing `error`. */
  async #end(error: unknown): Promise<IteratorResult<EventEnvelope, undefined>> {
    await this.close();
    if (error !== undefined) throw error;
    return DONE;
  }

  #skip(message: JsMsg, invalid: InvalidInput): void {
    this.stats.invalid++;
    logger.warn("Skipped JetStream message {seq} on {subject}: {reason}", {
      seq: message.seq,
      subject: message.subject,
      reason: invalid.reason,
    });
    report(this.#onInvalid, invalid);
    this.discard(message);
    // Skipped is settled: the resume point moves past it once its predecessors are.
    const resume = this.#resumePoint();
    resume.add(message, String(message.seq));
    resume.settle(message);
    if (this.caughtUp(message)) this.#endAfterThis = true;
  }
}
