/**
 * What one broadcast listener on the shared live tail reads: the messages
 * of its subject the tail hands it, in a bounded queue, after those of an
 * optional catch-up (an ordered consumer of its own, reading from the
 * listener's start position up to where the tail was when it joined).
 * A listener with a consumer of its own reads through a feed too, off the
 * tail, with that consumer as a catch-up that hands over only once the
 * tail moves it ({@linkcode TailFeed.readOwn}, {@linkcode TailFeed.handOverAt}).
 *
 * The hand-over has no gap and no duplicate: the feed joins the tail first
 * and queues everything of its subject from the tail's position `P` on; the
 * catch-up then reads until it delivers a message with nothing pending, or
 * one at or past `P`. When nothing was pending, the stream held no message
 * of the subject beyond it at that moment, and the tail's position at join
 * was at most the stream's last sequence then, so the queue holds the rest;
 * every queued message up to the last one delivered is dropped.
 *
 * A moved listener's own consumer hands over at a sequence the tail names
 * instead (see `live_tail.ts`): its `pending === 0` may be older than the
 * join, when messages of the subject up to `P` were still to come.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { TransientError } from "../errors.ts";
import { type MessageReader, type MessageSource, watchStalls } from "./subscription.ts";

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** An ordered consumer of the feed's own, read until the queue takes over. */
interface CatchUp {
  readonly consumer: Consumer;
  readonly messages: ConsumerMessages;
  readonly iterator: AsyncIterator<JsMsg>;
  /**
   * The hand-over sequence: a message at or past it is the last read here.
   * The tail's position when the feed joined, for a catch-up (the queue
   * holds every message after it); `Infinity` for a listener's own
   * consumer until the tail moves it.
   */
  until: number;
  /** Whether a message with nothing pending hands over: only when made after the join. */
  readonly endsWhenCaughtUp: boolean;
}

/** The tail a feed is on: what the feed calls to leave it. */
export interface TailSeat {
  /** Takes `feed` off the tail for `subject`; the last one out deletes the tail's consumer. */
  leave(subject: string, feed: TailFeed): void;
}

/** One listener's messages from the live tail; see the module doc. */
export class TailFeed implements MessageSource {
  /** The subject the feed listens to. */
  readonly subject: string;
  readonly #limit: number;
  #seat: TailSeat | undefined;
  // Queued by the tail and not yet read; `#head` is the next to read.
  // Made by the first message that waits: an idle feed has none.
  #queue: (JsMsg | undefined)[] | undefined;
  #head = 0;
  // The highest stream sequence handed out (or, before the first, one below
  // the start): nothing at or below it is handed out again.
  #after = 0;
  // Who waits for the next message: the subscription, which holds the one promise.
  #reader: MessageReader | undefined;
  #catchUp: CatchUp | undefined;
  #failure: { error: unknown } | undefined;
  #stopped = false;

  /** Listens to `subject`; queues at most `limit` messages of the tail, one more ends the feed. */
  constructor(subject: string, limit: number) {
    this.subject = subject;
    this.#limit = limit;
  }

  /** Called by the tail the feed joined: stopping or failing the feed leaves `seat`. */
  seat(seat: TailSeat): void {
    this.#seat = seat;
  }

  /** How many messages wait in the queue. */
  get queued(): number {
    return this.#queue === undefined ? 0 : this.#queue.length - this.#head;
  }

  /**
   * Sets where the feed starts: every message with a sequence below `start`
   * is dropped, whether queued already or still to come.
   */
  startAt(start: number): void {
    this.#after = Math.max(this.#after, start - 1);
  }

  /**
   * Reads `messages` (an ordered consumer from the start position) before
   * the queue, until the hand-over point; the feed deletes `consumer` then,
   * or when it stops. A stall of that consumer ends the feed (a broken
   * connection ends it through the tail).
   */
  catchUp(consumer: Consumer, messages: ConsumerMessages, until: number): void {
    this.#readConsumer(consumer, messages, until, true);
  }

  /**
   * Reads `messages`, the listener's own ordered consumer from its start
   * position, with no hand-over until {@linkcode handOverAt} names where;
   * the feed deletes `consumer` then, or when it stops. A stall of that
   * consumer ends the feed; the connection is the opener's to watch.
   */
  readOwn(consumer: Consumer, messages: ConsumerMessages): void {
    this.#readConsumer(consumer, messages, Infinity, false);
  }

  /**
   * Hands over from the consumer of the feed's own to the queue once a
   * message at or past stream sequence `sequence` was read from it (at
   * once when one was): the tail moving this feed names the first
   * sequence after which its queue holds every message of the subject.
   */
  handOverAt(sequence: number): void {
    const catchUp = this.#catchUp;
    if (catchUp === undefined) return;
    catchUp.until = sequence;
    // A read waiting on the consumer notices and goes on from the queue.
    if (this.#after >= sequence) this.#handOver();
  }

  #readConsumer(
    consumer: Consumer,
    messages: ConsumerMessages,
    until: number,
    endsWhenCaughtUp: boolean,
  ): void {
    const iterator = messages[Symbol.asyncIterator]();
    this.#catchUp = { consumer, messages, iterator, until, endsWhenCaughtUp };
    watchStalls(messages, (error) => this.fail(error));
  }

  /** Called by the tail with each message of the feed's subject, in stream order. */
  deliver(message: JsMsg): void {
    if (this.#stopped || this.#failure !== undefined || message.seq <= this.#after) return;
    const reader = this.#reader;
    if (reader !== undefined && this.#catchUp === undefined) {
      this.#reader = undefined;
      this.#after = message.seq;
      reader.received({ done: false, value: message });
      return;
    }
    if (this.queued >= this.#limit) {
      this.fail(
        new TransientError(
          `Cannot keep listening: the listener fell ${this.#limit} events behind the shared live tail`,
          { code: "overflow" },
        ),
      );
      return;
    }
    (this.#queue ??= []).push(message);
  }

  /** Ends the feed with `error`: every read fails with it from now on. */
  fail(error: unknown): void {
    if (this.#stopped || this.#failure !== undefined) return;
    this.#failure = { error };
    this.#release();
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.readFailed(error);
  }

  /** Tells `reader` of the next message: from the catch-up while it lasts, then from the queue. */
  read(reader: MessageReader): void {
    if (this.#failure !== undefined) return reader.readFailed(this.#failure.error);
    if (this.#stopped) return reader.received(DONE);
    const catchUp = this.#catchUp;
    if (catchUp !== undefined) {
      this.#nextCatchingUp(catchUp).then(
        (result) => result === undefined ? this.read(reader) : reader.received(result),
        (error) => reader.readFailed(error),
      );
      return;
    }
    const message = this.#dequeue();
    if (message !== undefined) return reader.received({ done: false, value: message });
    this.#reader = reader;
  }

  /** Ends reading: a pending read gets `done`. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#release();
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.received(DONE);
  }

  /** The next message of `catchUp`; `undefined` when the queue took over meanwhile. */
  async #nextCatchingUp(catchUp: CatchUp): Promise<IteratorResult<JsMsg, undefined> | undefined> {
    while (true) {
      const result = await catchUp.iterator.next();
      // Failed or stopped meanwhile: what the consumer still had buffered is not wanted.
      if (this.#failure !== undefined) throw this.#failure.error;
      if (this.#stopped) return DONE;
      // Handed over meanwhile: the queue holds everything past what was read.
      if (this.#catchUp !== catchUp) return undefined;
      if (result.done) {
        throw new TransientError("Cannot keep listening: the JetStream consumer stopped", {
          code: "eof",
        });
      }
      const message = result.value;
      if (message.seq <= this.#after) continue;
      this.#after = message.seq;
      const caughtUp = catchUp.endsWhenCaughtUp && message.info.pending === 0;
      if (caughtUp || message.seq >= catchUp.until) this.#handOver();
      return { done: false, value: message };
    }
  }

  /** The queue takes over from the catch-up. */
  #handOver(): void {
    const catchUp = this.#catchUp;
    this.#catchUp = undefined;
    if (catchUp !== undefined) endCatchUp(catchUp);
  }

  /** The next queued message past `#after`, dropping those at or below it. */
  #dequeue(): JsMsg | undefined {
    const queue = this.#queue;
    if (queue === undefined) return undefined;
    while (this.#head < queue.length) {
      const message = queue[this.#head]!;
      queue[this.#head++] = undefined;
      if (message.seq > this.#after) {
        this.#after = message.seq;
        this.#compact();
        return message;
      }
    }
    this.#compact();
    return undefined;
  }

  /** Drops the queue once it is read to the end: an idle feed keeps none. */
  #compact(): void {
    if (this.#head === this.#queue?.length) {
      this.#queue = undefined;
      this.#head = 0;
    }
  }

  #release(): void {
    const seat = this.#seat;
    this.#seat = undefined;
    seat?.leave(this.subject, this);
    this.#queue = undefined;
    this.#head = 0;
    this.#handOver();
  }
}

/** Stops a catch-up and deletes its consumer (not awaited: the connection may be down). */
function endCatchUp(catchUp: CatchUp): void {
  try {
    catchUp.messages.stop();
  } catch {
    // The connection is closed already.
  }
  catchUp.consumer.delete().catch(() => {});
}
