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
 * Where a subscription's messages come from when it has no consumer of its
 * own (a listener on the shared live tail): `next()` rejects with the error
 * the subscription ends with, and resolves `done` once `stop()` was called.
 */
export interface MessageSource {
  /** The next message, in stream order. */
  next(): Promise<IteratorResult<JsMsg, undefined>>;
  /** Ends reading: a pending `next()` resolves `done`. */
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
    next: () => iterator.next() as Promise<IteratorResult<JsMsg, undefined>>,
    stop: () => messages.stop(),
  };
}

/** One open JetStream subscription; see the module doc. */
export abstract class NatsSubscription implements EventSubscription {
  /** JetStream has no SSE `retry:`. */
  readonly reconnectHint: undefined = undefined;
  abstract readonly redelivers: boolean;
  abstract readonly workingInterval: number | undefined;
  /** The transport's counters. */
  protected readonly stats: NatsTransportStats;
  readonly #source: MessageSource;
  readonly #name: string;
  readonly #signal: AbortSignal | undefined;
  readonly #onInvalid: InvalidInputHandler | undefined;
  // Envelopes, and skipped messages (settled at once), in delivery order.
  readonly #resume: SettledPrefix<EventEnvelope | JsMsg>;
  // Handed out and not yet settled: the message each envelope came in.
  // Made at the first delivery: most listeners of a big host sit idle.
  #unsettled: Map<EventEnvelope, JsMsg> | undefined;
  readonly #cleanups: (() => void)[];
  #failure: { error: unknown } | undefined;
  #endAfterThis = false;
  #closed = false;

  /** Starts watching the signal, and the consumer and the connection when it has its own. */
  constructor(parts: SubscriptionParts | FedParts) {
    this.stats = parts.stats;
    this.#name = parts.name;
    this.#signal = parts.signal;
    this.#onInvalid = parts.onInvalid;
    this.#resume = new SettledPrefix(parts.resumeId);
    this.#cleanups = [parts.onClose];
    if ("source" in parts) {
      this.#source = parts.source;
    } else {
      this.#source = sourceOf(parts.messages);
      this.#cleanups.push(
        watchConsumer(parts.messages, parts.status, (error) => this.#fail(error)),
      );
    }
    const signal = parts.signal;
    if (signal !== undefined) {
      const onAbort = () => this.#stopReading();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
  }

  get lastEventId(): string | undefined {
    return this.#resume.resumeId;
  }

  /** JetStream's delivery count of the message `event` came in. */
  attempt(event: EventEnvelope): number {
    return this.#unsettled?.get(event)?.info.deliveryCount ?? 1;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    while (true) {
      if (this.#closed) return DONE;
      if (this.#signal?.aborted) return await this.#end(this.#signal.reason);
      if (this.#endAfterThis) return await this.#end(undefined);
      let result: IteratorResult<JsMsg, undefined>;
      try {
        result = await this.#source.next();
      } catch (error) {
        if (this.#closed || this.#signal?.aborted) continue;
        return await this.#end(this.#failure?.error ?? mapNatsError(error, "keep listening"));
      }
      if (this.#closed || this.#signal?.aborted) continue;
      if (result.done) {
        return await this.#end(
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
        continue;
      }
      (this.#unsettled ??= new Map()).set(decoded, message);
      this.#resume.add(decoded, decoded.id!);
      this.stats.delivered++;
      if (this.caughtUp(message)) this.#endAfterThis = true;
      return { done: false, value: decoded };
    }
  }

  async return(): Promise<IteratorResult<EventEnvelope, undefined>> {
    await this.close();
    return DONE;
  }

  async settle(event: EventEnvelope, settlement: Settlement): Promise<void> {
    const message = this.#unsettled?.get(event);
    if (message === undefined) return;
    this.#unsettled?.delete(event);
    this.#resume.settle(event);
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
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
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
    this.#resume.add(message, String(message.seq));
    this.#resume.settle(message);
    if (this.caughtUp(message)) this.#endAfterThis = true;
  }
}
