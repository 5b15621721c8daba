/**
 * Unicast on JetStream: one durable pull consumer per (group, event name),
 * explicit ack, shared by every worker of the group on any machine, so they
 * compete for its events. Settlement maps onto JetStream's acks: `done` →
 * `ack` (confirmed by the server), `retry` → `nak(delay)`, `dead` →
 * `term(reason)`; a retry that would exceed `maxDeliver` is terminated.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { nanos } from "@nats-io/nats-core";
import { AckPolicy, type ConsumerInfo, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { EventEnvelope } from "../envelope.ts";
import type { EventSubscription, Settlement, StreamOptions } from "../transport.ts";
import { isMissingResource, mapNatsError } from "./error_mapping.ts";
import type { Replies } from "./replies.ts";
import { durableName, subjectFor } from "./subjects.ts";
import {
  logger,
  NatsSubscription,
  type OpenContext,
  type SubscriptionParts,
  withStream,
} from "./subscription.ts";
import { settleSpans } from "../tracing/settle.ts";

const ACK = new TextEncoder().encode("+ACK");

/** The unicast group of an open that names none, as over HTTP. */
export const DEFAULT_GROUP = "default";

/** `term(reason)` carries its reason from this server version on; older servers ignore the whole term. */
const TERM_REASON_SINCE = [2, 11];

/** Whether a server of `version` understands `+TERM <reason>`. */
export function termTakesReason(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? "").split(".").map((part) => parseInt(part, 10));
  const [wantMajor, wantMinor] = TERM_REASON_SINCE as [number, number];
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** Finds the group's consumer, or creates it; aligns `ack_wait` and `max_deliver` with the options. */
async function ensureConsumer(
  context: OpenContext,
  options: StreamOptions,
  durable: string,
): Promise<ConsumerInfo> {
  const jsm = await context.jsm();
  const { stream, ackWait, maxDeliver, subjectPrefix } = context.options;
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (!isMissingResource(error)) throw error;
    // A group starts at the events published from its first open on,
    // unless that open asks for the history (as on the reference server).
    return await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWait),
      max_deliver: maxDeliver,
      filter_subject: subjectFor(subjectPrefix, options.name),
      deliver_policy: options.replay ? DeliverPolicy.All : DeliverPolicy.New,
    });
  }
  if (info.config.ack_wait !== nanos(ackWait) || info.config.max_deliver !== maxDeliver) {
    info = await jsm.consumers.update(stream, durable, {
      ack_wait: nanos(ackWait),
      max_deliver: maxDeliver,
    });
  }
  return info;
}

/**
 * Opens the group's share of event `options.name`.
 *
 * @throws {TypeError} With `follow: false`: a group's consumer has no end to
 * catch up with.
 */
export async function openUnicast(
  context: OpenContext,
  options: StreamOptions,
  onClose: () => void,
): Promise<EventSubscription> {
  if (options.follow === false) {
    throw new TypeError("Cannot open stream: follow: false needs broadcast delivery on NATS");
  }
  const durable = await durableName(options.group ?? DEFAULT_GROUP, options.name);
  try {
    const info = await withStream(context, () => ensureConsumer(context, options, durable));
    const consumer = context.js.consumers.getConsumerFromInfo(info);
    const messages = await consumer.consume({
      max_messages: Math.max(1, options.concurrency ?? 1),
    });
    return new UnicastSubscription(
      {
        messages,
        name: options.name,
        resumeId: options.lastEventId,
        status: context.status,
        stats: context.stats,
        onInvalid: options.onInvalid,
        signal: options.signal,
        onClose,
      },
      context,
      info.config.max_deliver ?? context.options.maxDeliver,
      settleSpans({
        system: "nats",
        group: options.group ?? DEFAULT_GROUP,
        consumer: options.consumer,
      }),
    );
  } catch (error) {
    throw mapNatsError(error, "open stream");
  }
}

/** A worker's share of a group's durable consumer. */
class UnicastSubscription extends NatsSubscription {
  readonly redelivers = true;
  readonly workingInterval: number;
  readonly #maxDeliver: number;
  readonly #termReason: boolean;
  readonly #replies: Replies;
  readonly #traced: ReturnType<typeof settleSpans>;

  constructor(
    parts: SubscriptionParts,
    context: OpenContext,
    maxDeliver: number,
    traced: ReturnType<typeof settleSpans>,
  ) {
    super(parts);
    this.#traced = traced;
    this.#replies = context.replies;
    this.workingInterval = context.options.ackWait / 2;
    this.#maxDeliver = maxDeliver;
    this.#termReason = termTakesReason(context.serverVersion());
  }

  protected async acknowledge(
    message: JsMsg,
    event: EventEnvelope,
    settlement: Settlement,
  ): Promise<void> {
    switch (settlement.type) {
      case "done":
        // Confirmed (the server answers an ack sent with a reply subject),
        // so that a settled event is never delivered again, even when the
        // server restarts right after.
        await this.#traced("ack", event, () => this.#confirmedAck(message));
        this.stats.acked++;
        return;
      case "retry": {
        const deliveries = message.info.deliveryCount;
        if (deliveries >= this.#maxDeliver && this.#maxDeliver > 0) {
          this.stats.exhausted++;
          logger.error(
            "Terminating {name} {id}: delivered {deliveries} times, the maxDeliver limit",
            { name: event.name, id: event.id, deliveries, maxDeliver: this.#maxDeliver },
          );
          await this.#traced(
            "term",
            event,
            () => this.#term(message, `maxDeliver (${this.#maxDeliver}) reached`),
          );
          return;
        }
        await this.#traced(
          "nak",
          event,
          () => message.nak(settlement.delay > 0 ? settlement.delay : undefined),
        );
        this.stats.retried++;
        return;
      }
      case "dead":
        await this.#traced("term", event, () => this.#term(message, settlement.reason));
        return;
    }
  }

  protected discard(message: JsMsg): void {
    // Never deliverable: terminated, so it is not redelivered forever.
    this.#term(message, "not an event envelope");
  }

  /**
   * `+ACK` with a reply subject, answered once the server processed it:
   * nats.js's `ackAck()`, through the transport's reply router. The ack
   * subject is the message's reply subject, which nats.js's `JsMsg` keeps
   * but does not type; without one, `ackAck()` itself.
   */
  async #confirmedAck(message: JsMsg): Promise<void> {
    const subject = (message as JsMsg & { reply?: unknown }).reply;
    if (typeof subject === "string" && subject !== "") await this.#replies.request(subject, ACK);
    else await message.ackAck();
  }

  #term(message: JsMsg, reason: string): void {
    this.stats.terminated++;
    // A 2.9 or 2.10 server takes `+TERM <reason>` for no ack at all.
    if (this.#termReason) message.term(reason);
    else message.term();
  }
}
