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

/** The lane of a busy key that has nothing waiting: shared, replaced on the first item. */
const NO_LANE = Object.freeze([]) as unknown as never[];
/**
 * What a key that is no longer busy keeps in the lanes until the next
 * sweep: a key that comes back (they do, with ordering keys) then costs
 * the map no insertion and no deletion, whose churn had the map rebuild
 * its table every few events (about 85 ns an event in the keyed worker
 * benchmark).
 */
const IDLE = Object.freeze([]) as unknown as never[];
/** Idle keys the lanes may keep at least, before a sweep forgets them. */
const IDLE_KEYS_KEPT = 1024;
const STARTED: Promise<void> = Promise.resolve();

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
  /**
   * A key is busy while it has a lane other than {@linkcode IDLE}: its
   * head runs or waits for a slot; the lane holds the rest.
   */
  readonly #lanes = new Map<string, T[]>();
  #busyKeys = 0;
  /** The lanes' size at which idle keys are swept out. */
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
    if (this.#queueBehind(key, item)) return;
    if (this.#slots.inUse < this.#slots.size) {
      // A free slot is granted synchronously, so the item is never counted as queued.
      void this.#slots.acquire();
      this.#start(key, item);
      return;
    }
    this.#count(1);
    this.#startWhenSlotFree(key, item, this.#signal);
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
    if (!this.#isBusy(key) && this.#slots.inUse < this.#slots.size && !signal?.aborted) {
      if (key !== undefined) this.#occupy(key);
      void this.#slots.acquire();
      this.#start(key, item);
      return STARTED;
    }
    return this.#pushWaiting(key, item, signal);
  }

  async #pushWaiting(key: string | undefined, item: T, signal?: AbortSignal): Promise<void> {
    while (this.#isBusy(key)) {
      if (this.#counters.queued < this.limit) {
        this.#queueBehind(key, item);
        return;
      }
      await this.#room(signal);
    }
    if (key !== undefined) this.#occupy(key);
    this.#count(1);
    try {
      await this.#slots.acquire(signal);
    } catch (error) {
      this.#count(-1);
      this.#abandon(key);
      throw error;
    }
    this.#count(-1);
    this.#start(key, item);
  }

  #isBusy(key: string | undefined): boolean {
    if (key === undefined) return false;
    const lane = this.#lanes.get(key);
    return lane !== undefined && lane !== IDLE;
  }

  /** Marks the free `key` busy. */
  #occupy(key: string): void {
    // Only a new key grows the map; sweeping first keeps it bounded.
    if (this.#lanes.size >= this.#sweepAt) this.#sweep();
    this.#lanes.set(key, NO_LANE);
    this.#busyKeys++;
  }

  /** Marks the busy `key` free, forgetting whatever still waits in its lane. */
  #release(key: string): void {
    this.#lanes.set(key, IDLE);
    this.#busyKeys--;
  }

  /**
   * Forgets the idle keys, then lets as many idle keys gather again as
   * are busy (at least {@linkcode IDLE_KEYS_KEPT}): each sweep is paid for
   * by the insertions before it.
   */
  #sweep(): void {
    for (const [key, lane] of this.#lanes) if (lane === IDLE) this.#lanes.delete(key);
    this.#sweepAt = Math.max(IDLE_KEYS_KEPT, 2 * this.#lanes.size);
  }

  /** Queues `item` in its key's lane when the key is busy; else marks the key busy. */
  #queueBehind(key: string | undefined, item: T): boolean {
    if (key === undefined) return false;
    const lane = this.#lanes.get(key);
    if (lane === undefined || lane === IDLE) {
      this.#occupy(key);
      return false;
    }
    if (lane === NO_LANE) this.#lanes.set(key, [item]);
    else lane.push(item);
    this.#count(1);
    return true;
  }

  /** Starts a counted item once it has a slot; abandons its key when `signal` aborts first. */
  #startWhenSlotFree(key: string | undefined, item: T, signal: AbortSignal | undefined): void {
    this.#slots.acquire(signal).then(() => {
      this.#count(-1);
      this.#start(key, item);
    }, () => {
      this.#count(-1);
      this.#abandon(key);
    });
  }

  #start(key: string | undefined, item: T): void {
    const finish = () => this.#finish(key);
    this.#run(item).then(finish, finish);
  }

  #finish(key: string | undefined): void {
    if (key !== undefined) {
      const lane = this.#lanes.get(key);
      if (lane === NO_LANE) {
        // The common case, nothing behind it: one look-up, one update in place.
        this.#release(key);
      } else if (lane !== undefined && lane.length > 0 && !this.#signal?.aborted) {
        // Queue for a slot before giving this one back (see the class doc).
        this.#startWhenSlotFree(key, lane.shift() as T, this.#signal);
      } else {
        this.#abandon(key);
      }
    }
    this.#slots.release();
  }

  /** Frees `key`, forgetting whatever still waits in its lane. */
  #abandon(key: string | undefined): void {
    if (key === undefined) return;
    const lane = this.#lanes.get(key);
    if (lane === undefined || lane === IDLE) return;
    this.#release(key);
    if (lane.length > 0) this.#count(-lane.length);
  }

  #count(delta: number): void {
    const counters = this.#counters;
    counters.queued += delta;
    if (counters.queued > counters.maxQueued) counters.maxQueued = counters.queued;
    if (delta < 0 && this.#roomWaiters.length > 0) {
      this.#roomWaiters.splice(0).forEach((wake) => wake());
    }
  }

  /** Resolves at the next dequeue; rejects with `signal.reason` on abort. */
  #room(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.#roomWaiters.indexOf(wake);
        if (index >= 0) this.#roomWaiters.splice(index, 1);
        reject(signal?.reason);
      };
      this.#roomWaiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
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
