/**
 * The worker's scheduler: hands events to handlers under a shared
 * concurrency limit (`Slots`), one at a time and in arrival order per
 * ordering key, and keeps what it holds bounded.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { Slots } from "./slots.ts";
import { RESOLVED, waitInLine } from "./async.ts";

/** Idle keys the queue may keep at least, before a sweep forgets them. */
const IDLE_KEYS_KEPT = 1024;

/**
 * One key's state. It outlives the key's busy spell until the next sweep:
 * a key that comes back (ordering keys do) costs one map look-up and no
 * insertion or deletion, whose churn had the map rebuild its table every
 * few events, and the item that runs holds its lane, so ending it looks
 * nothing up (about 100 ns an event in the keyed worker benchmark).
 */
class Lane<T> {
  /** Whether an item of this key runs or waits for a slot. */
  busy = false;
  /** The key's items behind that one, oldest first; made at the first. */
  waiting: T[] | undefined = undefined;
}

/** Live counts of what a {@linkcode KeyedQueue} holds; a `WorkerStats` fits. */
export interface QueueCounters {
  /** Items taken but not started: waiting for a slot, or behind a busy key. */
  queued: number;
  /** The most items that were queued at one moment. */
  maxQueued: number;
}

/** Options of {@linkcode KeyedQueue}. */
export interface KeyedQueueOptions<T> {
  /** The concurrency limit: a started item holds a slot until it ends. */
  slots: Slots;
  /**
   * Most items queued at once. {@linkcode KeyedQueue.push} waits for room
   * before queuing behind a busy key; {@linkcode KeyedQueue.canTake} says
   * no once it is reached.
   */
  limit: number;
  /** Runs one item; an item ends when the promise settles. */
  run: (item: T) => Promise<void>;
  /**
   * Once aborted, nothing more is started: items still queued are
   * abandoned (never run).
   */
  signal?: AbortSignal | undefined;
  /** Counters to keep up to date. */
  counters?: QueueCounters | undefined;
}

/**
 * Runs items under `slots`, at most one per key at a time and in the order
 * they were given: the items of a busy key wait in its lane, without a slot,
 * so they never block other keys (no head-of-line blocking). An item without
 * a key is only limited by the slots.
 *
 * When a key's item ends and its lane has more, the next one queues for a
 * slot behind whatever already waits for one (fair to other keys), and is
 * queued before the old slot is given back, so the slots never look idle in
 * between (a drain waiting for `slots.idle()` covers the lanes too).
 */
export class KeyedQueue<T> {
  /** Most items queued at once. */
  readonly limit: number;
  readonly #slots: Slots;
  readonly #run: (item: T) => Promise<void>;
  readonly #signal: AbortSignal | undefined;
  readonly #counters: QueueCounters;
  /** Each key's lane: busy ones, and idle ones until the next sweep. */
  readonly #lanes = new Map<string, Lane<T>>();
  #busyKeys = 0;
  /** The lanes' size at which idle ones are swept out. */
  #sweepAt = IDLE_KEYS_KEPT;
  readonly #roomWaiters: Array<() => void> = [];

  /**
   * Creates an empty queue over `options.slots`.
   *
   * @throws {RangeError} unless `limit` is a positive integer.
   */
  constructor(options: KeyedQueueOptions<T>) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(
        `Cannot use queue limit: current value is ${options.limit}, expected an integer >= 1`,
      );
    }
    this.limit = options.limit;
    this.#slots = options.slots;
    this.#run = options.run;
    this.#signal = options.signal;
    this.#counters = options.counters ?? { queued: 0, maxQueued: 0 };
  }

  /** Items taken but not started. */
  get queued(): number {
    return this.#counters.queued;
  }

  /** Keys with an item running or queued. */
  get busyKeys(): number {
    return this.#busyKeys;
  }

  /**
   * Keys the queue keeps: the busy ones and the idle ones not swept out
   * yet, at most twice the busy ones or 1,024 more than them.
   */
  get keptKeys(): number {
    return this.#lanes.size;
  }

  /**
   * Whether {@linkcode KeyedQueue.take} can accept an item for `key` now:
   * there is room in the queue, or the item can start at once (a free slot
   * and a free key).
   */
  canTake(key: string | undefined): boolean {
    if (this.#counters.queued < this.limit) return true;
    return !this.#isBusy(key) && this.#slots.inUse < this.#slots.size;
  }

  /**
   * Starts `item` or queues it, never waiting: for callers that drop what
   * does not fit. Ask {@linkcode KeyedQueue.canTake} first; past the limit
   * it queues anyway.
   */
  take(key: string | undefined, item: T): void {
    const lane = key === undefined ? undefined : this.#lanes.get(key);
    if (lane?.busy) return this.#queueBehind(lane, item);
    const own = key === undefined ? undefined : this.#occupy(key, lane);
    if (this.#slots.inUse < this.#slots.size) {
      // A free slot is granted synchronously, so the item is never counted as queued.
      void this.#slots.acquire();
      this.#start(own, item);
      return;
    }
    this.#count(1);
    this.#startWhenSlotFree(own, item, this.#signal);
  }

  /**
   * Starts `item` or queues it, waiting while the queue is full: resolves
   * once the item started (a free key waits for a slot here) or was queued
   * behind its busy key. Rejects with `signal.reason` when `signal` aborts
   * while waiting; the item is then not run.
   */
  push(key: string | undefined, item: T, signal?: AbortSignal): Promise<void> {
    // The common case, a free key and a free slot, starts at once: no
    // promise of its own, nothing counted as queued (as with `take()`).
    const lane = key === undefined ? undefined : this.#lanes.get(key);
    if (lane?.busy !== true && this.#slots.inUse < this.#slots.size && !signal?.aborted) {
      const own = key === undefined ? undefined : this.#occupy(key, lane);
      void this.#slots.acquire();
      this.#start(own, item);
      return RESOLVED;
    }
    return this.#pushWaiting(key, item, signal);
  }

  async #pushWaiting(key: string | undefined, item: T, signal?: AbortSignal): Promise<void> {
    let lane = key === undefined ? undefined : this.#lanes.get(key);
    while (lane?.busy) {
      if (this.#counters.queued < this.limit) return this.#queueBehind(lane, item);
      // Woken at the next dequeue; rejects with `signal.reason` on abort.
      await waitInLine(this.#roomWaiters, signal);
      lane = this.#lanes.get(key!);
    }
    const own = key === undefined ? undefined : this.#occupy(key, lane);
    this.#count(1);
    try {
      await this.#slots.acquire(signal);
    } catch (error) {
      this.#count(-1);
      if (own) this.#abandon(own);
      throw error;
    }
    this.#count(-1);
    this.#start(own, item);
  }

  #isBusy(key: string | undefined): boolean {
    return key !== undefined && this.#lanes.get(key)?.busy === true;
  }

  /** Marks the free `key` busy, in its idle `lane` if it kept one: the lane its item holds. */
  #occupy(key: string, lane: Lane<T> | undefined): Lane<T> {
    if (lane === undefined) {
      // Only a new key grows the map; sweeping first keeps it bounded.
      if (this.#lanes.size >= this.#sweepAt) this.#sweep();
      lane = new Lane();
      this.#lanes.set(key, lane);
    }
    lane.busy = true;
    this.#busyKeys++;
    return lane;
  }

  /** Queues `item` behind the busy `lane`'s running one. */
  #queueBehind(lane: Lane<T>, item: T): void {
    (lane.waiting ??= []).push(item);
    this.#count(1);
  }

  /**
   * Forgets the idle lanes, then lets as many idle ones gather again as
   * are busy (at least {@linkcode IDLE_KEYS_KEPT}): each sweep is paid for
   * by the insertions before it.
   */
  #sweep(): void {
    for (const [key, lane] of this.#lanes) if (!lane.busy) this.#lanes.delete(key);
    this.#sweepAt = Math.max(IDLE_KEYS_KEPT, 2 * this.#lanes.size);
  }

  /** Starts a counted item once it has a slot; abandons its lane when `signal` aborts first. */
  #startWhenSlotFree(lane: Lane<T> | undefined, item: T, signal: AbortSignal | undefined): void {
    this.#slots.acquire(signal).then(() => {
      this.#count(-1);
      this.#start(lane, item);
    }, () => {
      this.#count(-1);
      if (lane) this.#abandon(lane);
    });
  }

  #start(lane: Lane<T> | undefined, item: T): void {
    const finish = () => this.#finish(lane);
    this.#run(item).then(finish, finish);
  }

  #finish(lane: Lane<T> | undefined): void {
    if (lane !== undefined) {
      const next = lane.waiting;
      if (next === undefined || next.length === 0) {
        // The common case, nothing behind it: no look-up, one field written.
        this.#abandon(lane);
      } else if (!this.#signal?.aborted) {
        // Queue for a slot before giving this one back (see the class doc).
        this.#startWhenSlotFree(lane, next.shift() as T, this.#signal);
      } else {
        this.#abandon(lane);
      }
    }
    this.#slots.release();
  }

  /** Frees `lane`'s key, forgetting whatever still waits in it. */
  #abandon(lane: Lane<T>): void {
    if (!lane.busy) return;
    const waiting = lane.waiting?.length ?? 0;
    lane.waiting = undefined;
    lane.busy = false;
    this.#busyKeys--;
    if (waiting > 0) this.#count(-waiting);
  }

  #count(delta: number): void {
    const counters = this.#counters;
    counters.queued += delta;
    if (counters.queued > counters.maxQueued) counters.maxQueued = counters.queued;
    if (delta < 0 && this.#roomWaiters.length > 0) {
      this.#roomWaiters.splice(0).forEach((wake) => wake());
    }
  }
}

/**
 * Throws unless `value` is a valid `orderingKey` option (a function, or
 * `undefined`).
 *
 * @param value The option as given.
 * @param where Prefixes the message, e.g. `Cannot run worker`.
 * @throws {TypeError} When it is not a function.
 */
export function assertOrderingKey(
  value: unknown,
  where: string,
): asserts value is ((event: never) => string | undefined) | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(
      `${where}: orderingKey is ${
        JSON.stringify(value)
      }, expected a function (event) => string | undefined`,
    );
  }
}

/**
 * Calls a worker's `orderingKey` for one event.
 *
 * @throws {TypeError} Describing the problem when the function throws or
 * returns something other than a string or `undefined`.
 */
export function orderingKeyOf<E>(
  orderingKey: (event: E) => string | undefined,
  event: E,
): string | undefined {
  let key: unknown;
  try {
    key = orderingKey(event);
  } catch (error) {
    throw new TypeError(
      `orderingKey threw: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (key === undefined || typeof key === "string") return key;
  throw new TypeError(`orderingKey returned ${typeof key}, expected a string or undefined`);
}
