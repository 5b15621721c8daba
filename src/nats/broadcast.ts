/**
 * Broadcast on JetStream: every listener reads the stream itself through an
 * ordered consumer (no acks, created and recreated by the client) filtered
 * to the event's one subject, from the newest event on, from the start with
 * `replay`, or right after `lastEventId` (a stream sequence) when reopened.
 * With `follow: false` it ends once caught up.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type Consumer, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { EventEnvelope } from "../envelope.ts";
import type { EventSubscription, Settlement, StreamOptions } from "../transport.ts";
import { mapNatsError } from "./error_mapping.ts";
import { subjectFor } from "./subjects.ts";
import {
  NatsSubscription,
  type OpenContext,
  type SubscriptionParts,
  withStream,
} from "./subscription.ts";

/** How many events an ordered consumer fetches ahead: nothing waits on an ack here. */
const BROADCAST_PREFETCH = 256;

/** Where a broadcast subscription starts reading, and its resume point until then. */
interface Start {
  readonly sequence: number;
  readonly resumeId: string | undefined;
}

/**
 * The first stream sequence to read. "From the newest event on" is pinned
 * to the stream's last sequence now, so that a reopen before any event
 * arrives resumes there instead of skipping what was published meanwhile.
 *
 * @throws {TypeError} When `lastEventId` is not a stream sequence.
 */
async function startOf(context: OpenContext, options: StreamOptions): Promise<Start> {
  const { lastEventId } = options;
  if (lastEventId !== undefined && lastEventId !== "") {
    if (!/^\d{1,16}$/.test(lastEventId)) {
      throw new TypeError(
        `Cannot open stream: lastEventId ${
          JSON.stringify(lastEventId.slice(0, 64))
        } is not a JetStream stream sequence`,
      );
    }
    return { sequence: Number(lastEventId) + 1, resumeId: lastEventId };
  }
  if (options.replay) return { sequence: 1, resumeId: undefined };
  const info = await (await context.jsm()).streams.info(context.options.stream);
  const last = info.state.last_seq;
  return { sequence: last + 1, resumeId: String(last) };
}

/** Opens a listener's own read of event `options.name`. */
export async function openBroadcast(
  context: OpenContext,
  options: StreamOptions,
  onClose: () => void,
): Promise<EventSubscription> {
  try {
    const { consumer, start } = await withStream(context, async () => {
      const start = await startOf(context, options);
      const consumer = await context.js.consumers.get(context.options.stream, {
        // One subject as a string: nats-server 2.9 has no multi-subject filters.
        filter_subjects: subjectFor(context.options.subjectPrefix, options.name),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: start.sequence,
      });
      return { consumer, start };
    });
    const caughtUpAtOpen = options.follow === false &&
      (await consumer.info(true)).num_pending === 0;
    const messages = await consumer.consume({
      max_messages: Math.max(BROADCAST_PREFETCH, options.concurrency ?? 1),
    });
    return new BroadcastSubscription(
      {
        messages,
        name: options.name,
        resumeId: start.resumeId,
        status: context.status,
        stats: context.stats,
        onInvalid: options.onInvalid,
        signal: options.signal,
        onClose,
      },
      consumer,
      options.follow === false,
      caughtUpAtOpen,
    );
  } catch (error) {
    throw mapNatsError(error, "open stream");
  }
}

/** One listener's read of the stream. */
class BroadcastSubscription extends NatsSubscription {
  readonly redelivers = false;
  readonly workingInterval = undefined;
  readonly #consumer: Consumer;
  readonly #untilCaughtUp: boolean;
  #caughtUpAtOpen: boolean;

  constructor(
    parts: SubscriptionParts,
    consumer: Consumer,
    untilCaughtUp: boolean,
    caughtUpAtOpen: boolean,
  ) {
    super(parts);
    this.#consumer = consumer;
    this.#untilCaughtUp = untilCaughtUp;
    this.#caughtUpAtOpen = caughtUpAtOpen;
  }

  override async next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    if (this.#caughtUpAtOpen) {
      this.#caughtUpAtOpen = false;
      await this.close();
    }
    return await super.next();
  }

  /** Nothing to tell the server: only the resume point moves. */
  protected acknowledge(_message: JsMsg, _event: EventEnvelope, _settlement: Settlement) {
    return Promise.resolve();
  }

  protected discard(_message: JsMsg): void {}

  protected override caughtUp(message: JsMsg): boolean {
    return this.#untilCaughtUp && message.info.pending === 0;
  }

  protected override closed(): Promise<void> {
    // Ordered consumers expire on their own after a while; deleting one
    // now spares the server. Not awaited: the connection may be down.
    this.#consumer.delete().catch(() => {});
    return Promise.resolve();
  }
}
