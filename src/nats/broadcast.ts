/**
 * Broadcast on JetStream, through ordered consumers (no acks, created and
 * recreated by the client), from the newest event on, from the start with
 * `replay`, or right after `lastEventId` (a stream sequence) when reopened.
 * The first `shareListenersAfter` listeners of a transport that follow the
 * stream, and every `follow: false` read (which ends once caught up), read
 * through a consumer of their own filtered to the event's one subject; the
 * listeners beyond share the transport's live tail (`live_tail.ts`), and
 * read what they need from before the tail's position through a catch-up
 * consumer of their own first (`tail_feed.ts`). Once the tail runs, it
 * takes the following listeners with a consumer of their own onto it too,
 * and every new one joins it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
} from "@nats-io/jetstream";
import { RESOLVED } from "../async.ts";
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
import { TailFeed } from "./tail_feed.ts";

/** How many events an ordered consumer fetches ahead: nothing waits on an ack here. */
const BROADCAST_PREFETCH = 256;
/**
 * How many events of its subject a listener on the live tail may have
 * waiting (at least its `concurrency`). One more ends its subscription with
 * a `TransientError` (code `overflow`): it reopens from its resume point
 * and catches up through a consumer of its own, instead of making the tail
 * buffer without bound or hold up the other listeners.
 */
const TAIL_QUEUE_LIMIT = 1024;

/** Where a broadcast subscription starts reading, and its resume point until then. */
interface Start {
  readonly sequence: number;
  readonly resumeId: string | undefined;
}

/**
 * Where `lastEventId` or `replay` asks to start; `undefined` for "from the
 * newest event on", which {@linkcode newestAfter} pins.
 *
 * @throws {TypeError} When `lastEventId` is not a stream sequence.
 */
function askedStart(options: StreamOptions): Start | undefined {
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
  return undefined;
}

/**
 * "From the newest event on", pinned to `last`, the stream's last sequence
 * now (`context.lastSequence.now()`), so that a reopen before any event
 * arrives resumes there instead of skipping what was published meanwhile.
 * Not an async function of its own: its frame, promise and reactions were
 * garbage of every listener a host opens (about 0.4 KiB each).
 */
function newestAfter(last: number): Start {
  return { sequence: last + 1, resumeId: String(last) };
}

/**
 * Opens a listener's read of event `options.name`: through a consumer of
 * its own with `follow: false`, or while no live tail runs and the
 * transport has fewer than `shareListenersAfter` following listeners with
 * one (until the tail moves it), else on the live tail.
 */
export function openBroadcast(
  context: OpenContext,
  options: StreamOptions,
  onClose: () => void,
): Promise<EventSubscription> {
  if (options.follow === false) return openHistory(context, options, onClose);
  const release = context.liveTail.claimOwn(context.options.shareListenersAfter);
  if (release === undefined) return openOnTail(context, options, onClose);
  return openOwn(context, options, release, onClose);
}

/** The feed of a listener of `options.name` on the live tail, or on its way there. */
function feedOf(context: OpenContext, options: StreamOptions): TailFeed {
  return new TailFeed(
    subjectFor(context.options.subjectPrefix, options.name),
    Math.max(TAIL_QUEUE_LIMIT, options.concurrency ?? 1),
  );
}

/** Starts reading `consumer`, fetching ahead as much as a listener of `options` may want. */
function consume(consumer: Consumer, options: StreamOptions): Promise<ConsumerMessages> {
  return consumer.consume({ max_messages: Math.max(BROADCAST_PREFETCH, options.concurrency ?? 1) });
}

/**
 * Opens a listener on the live tail. It joins the tail before taking its
 * start position, so the tail hands it everything after the tail's position
 * then; a start at or before that position is read first by a catch-up.
 */
async function openOnTail(
  context: OpenContext,
  options: StreamOptions,
  onClose: () => void,
): Promise<EventSubscription> {
  const asked = askedStart(options);
  const feed = feedOf(context, options);
  try {
    const position = await context.liveTail.join(context, feed);
    const start = asked ?? newestAfter(await context.lastSequence.now());
    feed.startAt(start.sequence);
    if (start.sequence <= position) await catchUp(context, options, feed, start.sequence, position);
    return fedSubscription(context, options, feed, start, onClose);
  } catch (error) {
    feed.stop();
    throw mapNatsError(error, "open stream");
  }
}

/**
 * The subscription of a listener reading `feed` from `start`. Closing it
 * stops the feed, which takes it off the tail and deletes any consumer of
 * its own.
 */
function fedSubscription(
  context: OpenContext,
  options: StreamOptions,
  feed: TailFeed,
  start: Start,
  onClose: () => void,
): ListenerSubscription {
  return new ListenerSubscription({
    source: feed,
    name: options.name,
    resumeId: start.resumeId,
    stats: context.stats,
    onInvalid: options.onInvalid,
    signal: options.signal,
    onClose,
  });
}

/** Creates an ordered consumer of `subject` from stream sequence `start` on. */
function orderedConsumer(context: OpenContext, subject: string, start: number): Promise<Consumer> {
  return context.js.consumers.get(context.options.stream, {
    // One subject as a string: nats-server 2.9 has no multi-subject filters.
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: start,
  });
}

/**
 * Gives `feed` an ordered consumer of its own from `start`, read up to the
 * tail's position `until`; none when the subject has nothing from `start` on.
 */
async function catchUp(
  context: OpenContext,
  options: StreamOptions,
  feed: TailFeed,
  start: number,
  until: number,
): Promise<void> {
  const consumer = await withStream(context, () => orderedConsumer(context, feed.subject, start));
  try {
    // The answer to the consumer's creation: what matched after the feed joined the tail.
    if ((await consumer.info(true)).num_pending === 0) {
      consumer.delete().catch(() => {});
      return;
    }
    feed.catchUp(consumer, await consume(consumer, options), until);
  } catch (error) {
    consumer.delete().catch(() => {});
    throw error;
  }
}

/** Creates an ordered consumer of the subject of `options.name` of its own, from where it asks. */
function ownConsumer(
  context: OpenContext,
  options: StreamOptions,
): Promise<{ consumer: Consumer; start: Start }> {
  const asked = askedStart(options);
  return withStream(context, async () => {
    const start = asked ?? newestAfter(await context.lastSequence.now());
    const subject = subjectFor(context.options.subjectPrefix, options.name);
    return { consumer: await orderedConsumer(context, subject, start.sequence), start };
  });
}

/**
 * Opens a following listener's read of event `options.name` through an
 * ordered consumer of its own, filtered to the event's one subject, read
 * through a feed that the live tail moves onto itself once it runs;
 * `release` gives its place among the consumers of their own back.
 */
async function openOwn(
  context: OpenContext,
  options: StreamOptions,
  release: () => void,
  onClose: () => void,
): Promise<EventSubscription> {
  const feed = feedOf(context, options);
  try {
    const { consumer, start } = await ownConsumer(context, options);
    try {
      feed.readOwn(consumer, await consume(consumer, options));
    } catch (error) {
      consumer.delete().catch(() => {});
      throw error;
    }
    feed.startAt(start.sequence);
    // On the tail, its failure ends the feed too; before, nothing else watches the connection.
    const unwatch = context.status.onLoss((error) => feed.fail(error));
    context.liveTail.adopt(context, feed, release);
    return fedSubscription(context, options, feed, start, () => {
      unwatch();
      release();
      onClose();
    });
  } catch (error) {
    release();
    feed.stop();
    throw mapNatsError(error, "open stream");
  }
}

/**
 * Opens a `follow: false` read of event `options.name` through an ordered
 * consumer of its own, filtered to the event's one subject, that ends once
 * it delivered what was pending.
 */
async function openHistory(
  context: OpenContext,
  options: StreamOptions,
  onClose: () => void,
): Promise<EventSubscription> {
  try {
    const { consumer, start } = await ownConsumer(context, options);
    const caughtUpAtOpen = (await consumer.info(true)).num_pending === 0;
    return new HistorySubscription(
      {
        messages: await consume(consumer, options),
        name: options.name,
        resumeId: start.resumeId,
        status: context.status,
        stats: context.stats,
        onInvalid: options.onInvalid,
        signal: options.signal,
        onClose,
      },
      consumer,
      caughtUpAtOpen,
    );
  } catch (error) {
    throw mapNatsError(error, "open stream");
  }
}

/** One listener's read of the stream: nothing to acknowledge, only the resume point moves. */
class ListenerSubscription extends NatsSubscription {
  // Getters rather than fields: a thousand idle listeners keep no copies.
  get redelivers(): false {
    return false;
  }

  get workingInterval(): undefined {
    return undefined;
  }

  /** Nothing to tell the server: only the resume point moves. */
  protected acknowledge(_message: JsMsg, _event: EventEnvelope, _settlement: Settlement) {
    return RESOLVED;
  }

  protected discard(_message: JsMsg): void {}
}

/** A `follow: false` read through an ordered consumer of its own, deleted when it closes. */
class HistorySubscription extends ListenerSubscription {
  readonly #consumer: Consumer;
  #caughtUpAtOpen: boolean;

  constructor(parts: SubscriptionParts, consumer: Consumer, caughtUpAtOpen: boolean) {
    super(parts);
    this.#consumer = consumer;
    this.#caughtUpAtOpen = caughtUpAtOpen;
  }

  override next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    if (!this.#caughtUpAtOpen) return super.next();
    this.#caughtUpAtOpen = false;
    return this.close().then(() => super.next());
  }

  protected override caughtUp(message: JsMsg): boolean {
    return message.info.pending === 0;
  }

  protected override closed(): Promise<void> {
    // Ordered consumers expire on their own after a while; deleting one
    // now spares the server. Not awaited: the connection may be down.
    this.#consumer.delete().catch(() => {});
    return Promise.resolve();
  }
}
