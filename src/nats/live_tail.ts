/**
 * The live tail: one ordered consumer per transport, filtered to
 * `<subjectPrefix>.>`, that every broadcast listener following the stream
 * shares. It reads the stream from its last sequence at creation on, and
 * hands each message to the feeds of its subject (a map subject → feeds);
 * a message nobody listens to is dropped before any decoding.
 *
 * It is created by the first listener that joins and deleted as soon as
 * the last one leaves (no idle delay: a listener reopening soon after pays
 * one consumer creation, the cost of today's per-listener consumers, and a
 * transport with no listeners holds nothing on the server). When it fails
 * (the connection breaks, the stream or the consumer goes missing, its
 * heartbeats stop, nats.js ends it), every feed on it ends with the same
 * `TransientError`, so each listener reopens through its reconnect policy
 * from its own resume point, and the next join creates a new tail.
 *
 * While the tail runs, it takes the listeners that read a consumer of
 * their own onto it too (else each of their events would come into the
 * process twice, once through their consumer and once through the tail,
 * which drops it), and new listeners join it straight away. A listener
 * moves without noticing: its feed goes on the tail at the tail's position
 * `P`, asks for the last sequence `L` of its subject, and reads its own
 * consumer up to the first message at or past `min(P, L)` before its
 * queue takes over (every message of the subject up to `P` is at or below
 * `L`; the queue holds every one after `P`), then deletes its consumer.
 * When the tail fails while a listener moves, the listener ends with the
 * same `TransientError` as the tail's listeners; when that request fails
 * (a permission, a timeout), with a `TransientError` code `move_failed`.
 * Either way it reopens from its resume point, onto the tail through a
 * catch-up (a tail that cannot be created leaves the listeners where they
 * are). Once on the tail, listeners stay there until
 * it ends; after that the first `shareListenersAfter` reopened get
 * consumers of their own again.
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
import { once } from "../async.ts";
import { TransientError } from "../errors.ts";
import { mapNatsError } from "./error_mapping.ts";
import { type OpenContext, watchStalls, withStream } from "./subscription.ts";
import type { TailFeed, TailSeat } from "./tail_feed.ts";

/**
 * How many messages the tail fetches ahead. It carries every event of the
 * stream, so it pulls in bigger batches than one listener's consumer.
 */
const TAIL_PREFETCH = 1024;

/** One life of the tail's consumer, from its creation to its failure or last leave. */
class TailRun implements TailSeat {
  /** The last stream sequence handed out. */
  position = 0;
  readonly feeds = new Map<string, TailFeed | Set<TailFeed>>();
  members = 0;
  ended = false;
  /** What ended the run, when it failed. */
  failure: unknown;
  consumer: Consumer | undefined;
  messages: ConsumerMessages | undefined;
  readonly cleanups: (() => void)[] = [];
  /** Settles once the consumer is consuming; rejects when the run ended first. */
  ready: Promise<void> = Promise.resolve();
  /** Whether the consumer is consuming (what `ready` settled with, read without waiting). */
  consuming = false;
  /** The position for the feeds that joined while the run was starting; see `LiveTail.join`. */
  joined: Promise<number> | undefined;
  readonly #onEmpty: (run: TailRun) => void;

  /** `onEmpty` runs when the last feed left. */
  constructor(onEmpty: (run: TailRun) => void) {
    this.#onEmpty = onEmpty;
  }

  leave(subject: string, feed: TailFeed): void {
    // An ended run let go of its feeds already.
    if (this.ended) return;
    if (this.remove(subject, feed) && this.members === 0) this.#onEmpty(this);
  }

  add(subject: string, feed: TailFeed): void {
    const present = this.feeds.get(subject);
    if (present === undefined) this.feeds.set(subject, feed);
    else if (present instanceof Set) present.add(feed);
    else this.feeds.set(subject, new Set([present, feed]));
    this.members++;
  }

  /** Whether `feed` was on the run (and is not any more). */
  remove(subject: string, feed: TailFeed): boolean {
    const present = this.feeds.get(subject);
    if (present === feed) this.feeds.delete(subject);
    else if (!(present instanceof Set && present.delete(feed))) return false;
    else if (present.size === 0) this.feeds.delete(subject);
    this.members--;
    return true;
  }

  /** Stops reading and deletes the consumer (not awaited: the connection may be down). */
  release(): void {
    try {
      this.messages?.stop();
    } catch {
      // The connection is closed already.
    }
    // Ordered consumers expire on their own after a while; deleting one
    // now spares the server.
    this.consumer?.delete().catch(() => {});
  }

  /** Hands `message` to the feeds of its subject; drops it when there are none. */
  dispatch(message: JsMsg): void {
    this.position = message.seq;
    const present = this.feeds.get(message.subject);
    if (present !== undefined) forEachFeed(present, (feed) => feed.deliver(message));
  }
}

/** Calls `use` with the one feed of a subject, or with each of its feeds. */
function forEachFeed(present: TailFeed | Set<TailFeed>, use: (feed: TailFeed) => void): void {
  if (present instanceof Set) { for (const feed of present) use(feed); }
  else use(present);
}

/** The listeners reading a consumer of their own, waiting for a tail to move onto. */
class OwnListeners implements TailSeat {
  /** Each with the function that gives its place among the consumers of their own back. */
  readonly feeds = new Map<TailFeed, () => void>();

  leave(_subject: string, feed: TailFeed): void {
    this.feeds.delete(feed);
  }
}

/** The shared consumer of one transport's broadcast listeners; see the module doc. */
export class LiveTail {
  #run: TailRun | undefined;
  // Following listeners with a consumer of their own, which decide when the tail is used.
  #own = 0;
  readonly #waiting = new OwnListeners();

  /**
   * Counts one more listener with a consumer of its own while no tail runs
   * and fewer than `limit` have one, and returns the function that counts
   * it out again; `undefined` when the listener is to share the tail instead.
   */
  claimOwn(limit: number): (() => void) | undefined {
    // A consumer of its own while the tail runs would only be moved onto it.
    if (this.#run !== undefined || this.#own >= limit) return undefined;
    this.#own++;
    return once(() => this.#own--);
  }

  /**
   * Puts `feed` on the tail (creating the tail when it is the first) and
   * resolves once the tail is consuming, with the last stream sequence the
   * tail handed out by then: the feed gets every message of its subject
   * after it. Stopping or failing the feed takes it off again.
   *
   * @throws {TransientError} When the tail cannot be created (connection down, no answer).
   */
  join(context: OpenContext, feed: TailFeed): Promise<number> {
    let run: TailRun;
    try {
      run = this.#run ?? this.#start(context);
    } catch (error) {
      return Promise.reject(error);
    }
    // On the run before its first message can come, so nothing passes the feed by.
    run.add(feed.subject, feed);
    feed.seat(run);
    // Consuming already: any position read once the feed is on the run will do.
    if (run.consuming) return Promise.resolve(run.position);
    // Starting: one wait for every feed that joins meanwhile (a host's
    // listeners all join at once), not an async frame and its reactions
    // each, garbage of every listener opened. The position is read once
    // the run consumes, after every one of them went on it; a run that
    // fails to start fails its feeds itself (see `#end`).
    return run.joined ??= run.ready.then(() => run.position);
  }

  /**
   * Moves `feed`, which reads a listener's consumer of its own
   * ({@linkcode TailFeed.readOwn}), onto the tail once one is consuming
   * (see the module doc); `release` gives its place among the consumers of
   * their own back then. Stopping or failing the feed before forgets it.
   */
  adopt(context: OpenContext, feed: TailFeed, release: () => void): void {
    this.#waiting.feeds.set(feed, release);
    feed.seat(this.#waiting);
    if (this.#run !== undefined) this.#moveOnceReady(context, this.#run, feed);
  }

  #start(context: OpenContext): TailRun {
    const run = new TailRun((empty) => this.#end(empty, undefined));
    this.#run = run;
    run.cleanups.push(context.status.onLoss((error) => this.#end(run, error)));
    run.ready = this.#consume(context, run).catch((error) => {
      this.#end(run, mapNatsError(error, "open stream"));
      // The run may have ended (the connection broke) while this was under way.
      run.release();
      throw run.failure ?? error;
    });
    for (const feed of this.#waiting.feeds.keys()) this.#moveOnceReady(context, run, feed);
    return run;
  }

  /** Moves `feed` onto `run` once it is consuming; a run that fails to start leaves it waiting. */
  #moveOnceReady(context: OpenContext, run: TailRun, feed: TailFeed): void {
    run.ready.then(() => this.#move(context, run, feed), () => {});
  }

  async #move(context: OpenContext, run: TailRun, feed: TailFeed): Promise<void> {
    const release = this.#waiting.feeds.get(feed);
    // The run ended meanwhile (the feed waits for the next), or the feed left.
    if (run.ended || release === undefined) return;
    this.#waiting.feeds.delete(feed);
    release();
    // On the run between two of its messages: the feed gets every one past `position`.
    run.add(feed.subject, feed);
    feed.seat(run);
    const position = run.position;
    try {
      feed.handOverAt(Math.min(position, await lastOfSubject(context, feed.subject)));
    } catch (error) {
      // Not knowing where to hand over, the feed ends: its listener reopens
      // from its resume point, onto the tail through a catch-up, which needs
      // no such request (a refused one is no reason to stop listening).
      feed.fail(moveFailed(mapNatsError(error, "keep listening")));
    }
  }

  async #consume(context: OpenContext, run: TailRun): Promise<void> {
    const { stream, subjectPrefix } = context.options;
    const consumer = await withStream(context, async () => {
      run.position = await context.lastSequence.now();
      return await context.js.consumers.get(stream, {
        // One subject as a string: nats-server 2.9 has no multi-subject filters.
        filter_subjects: `${subjectPrefix}.>`,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: run.position + 1,
      });
    });
    run.consumer = consumer;
    if (run.ended) throw endedBeforeStart(run);
    const messages = await consumer.consume({
      max_messages: TAIL_PREFETCH,
      callback: (message) => run.dispatch(message),
    });
    run.messages = messages;
    if (run.ended) throw endedBeforeStart(run);
    // The connection is watched since the run started.
    watchStalls(messages, (error) => this.#end(run, error));
    messages.closed().then((error) => {
      this.#end(
        run,
        error instanceof Error
          ? mapNatsError(error, "keep listening")
          : new TransientError("Cannot keep listening: the JetStream consumer stopped", {
            code: "eof",
          }),
      );
    }, () => {});
    run.consuming = true;
  }

  /** Ends `run`: fails its feeds with `error` (none when the last one left), deletes its consumer. */
  #end(run: TailRun, error: unknown): void {
    if (run.ended) return;
    run.ended = true;
    run.failure = error;
    if (this.#run === run) this.#run = undefined;
    for (const cleanup of run.cleanups.splice(0)) cleanup();
    if (error !== undefined) {
      for (const present of run.feeds.values()) forEachFeed(present, (feed) => feed.fail(error));
    }
    run.feeds.clear();
    run.release();
  }
}

/** The stream sequence of the last message on `subject` now; `0` when it has none. */
async function lastOfSubject(context: OpenContext, subject: string): Promise<number> {
  const jsm = await context.jsm();
  const stored = await jsm.streams.getMessage(context.options.stream, { last_by_subj: subject });
  return stored?.seq ?? 0;
}

/** Why a move failed, as the `TransientError` its listener reopens after, whatever `error` was. */
function moveFailed(error: unknown): TransientError {
  return new TransientError("Cannot keep listening: the move onto the shared live tail failed", {
    code: "move_failed",
    cause: error,
  });
}

/** Why a join fails when the tail ended before it was consuming: its own failure, as a rule. */
function endedBeforeStart(run: TailRun): unknown {
  return run.failure ??
    new TransientError("Cannot open stream: the shared live tail ended while starting", {
      code: "eof",
    });
}
