/**
 * Where a worker group remembers which idempotency keys it handled and what
 * it answered: the {@linkcode IdempotencyStore} interface, and
 * {@linkcode MemoryIdempotencyStore}, the bounded in-memory default (LRU
 * with a time to live).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { KeyTable, NO_INDEX } from "./key_table.ts";
import { RESOLVED, timerDelay, waitInLine } from "./async.ts";

/** The metadata field that carries an event's idempotency key. */
export const IDEMPOTENCY_KEY = "idempotencyKey";

/** One reply the first handling of a key published: what its duplicates get again. */
export type RecordedReply =
  | {
    readonly type: "reply";
    readonly payload: unknown;
    readonly metadata?: Record<string, string> | undefined;
  }
  | {
    readonly type: "error";
    readonly code: string;
    readonly message: string;
    readonly metadata?: Record<string, string> | undefined;
  };

/** What the first handling of a key produced: its replies, in order (none for fire-and-forget events). */
export interface IdempotencyOutcome {
  /** The replies and error replies it published. */
  readonly replies: readonly RecordedReply[];
}

/**
 * Where a key stands, as {@linkcode IdempotencyStore.claim} found it:
 *
 * - `claimed`: nobody handled it within its time to live, or the claim is
 *   the caller's own (a retry or redelivery of the same event); the caller
 *   holds it and ends it with `complete()`, or with `release()` when the
 *   handling failed for good.
 * - `done`: it was handled; `outcome` is what to answer a duplicate with.
 * - `pending`: another event holds it now; wait with `settled()`, then
 *   claim again.
 */
export type IdempotencyClaim =
  | { readonly status: "claimed" }
  | { readonly status: "done"; readonly outcome: IdempotencyOutcome }
  | { readonly status: "pending" };

/**
 * Remembers handled idempotency keys for a time to live. Keys arrive
 * already scoped (worker group, event name, the event's key); a store
 * shared by many replicas (a JetStream key-value bucket) makes them share
 * outcomes. Implementations must make `claim()` atomic: of two concurrent
 * claims of a free key, exactly one gets `claimed`.
 *
 * @example A store that never remembers (every event runs)
 * ```ts
 * import type { IdempotencyStore } from "@bus/integration";
 *
 * const forgetful: IdempotencyStore = {
 *   claim: () => Promise.resolve({ status: "claimed" }),
 *   complete: () => Promise.resolve(),
 *   release: () => Promise.resolve(),
 *   settled: () => Promise.resolve(),
 * };
 * ```
 */
export interface IdempotencyStore {
  /**
   * Claims `key` for `owner` (the event's id), or reports its outcome or
   * that another owner holds it. A pending claim of the same owner is
   * claimed again, so a retried or redelivered event (or one whose worker
   * died) takes its claim over. A claim, like an outcome, lapses after
   * `ttl` ms.
   */
  claim(key: string, owner: string, ttl: number): Promise<IdempotencyClaim>;
  /** Records the outcome of a claimed key for `ttl` ms and wakes its waiters. */
  complete(key: string, outcome: IdempotencyOutcome, ttl: number): Promise<void>;
  /**
   * Forgets `owner`'s claim of `key` (its handling failed for good), so the
   * next event with the key runs again, and wakes its waiters, who claim it
   * again. Leaves the key alone when `owner` does not hold it (an outcome
   * is recorded, or another event claimed it since).
   */
  release(key: string, owner: string): Promise<void>;
  /**
   * Resolves once `key` is no longer in flight (completed, released or lapsed), at
   * once when it is not; rejects with `signal.reason` when `signal` aborts
   * first.
   */
  settled(key: string, signal: AbortSignal): Promise<void>;
}

/** Options of {@linkcode MemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /**
   * Most keys kept; past it the least recently used is evicted (an
   * evicted key runs again when it comes back).
   *
   * @default {10000}
   */
  maxEntries?: number | undefined;
  /** The clock that times entries out, in ms. @default {Date.now} */
  now?: (() => number) | undefined;
}

// Claims are plain data, so one object (and one resolved promise) per answer serves every call.
const CLAIMED_CLAIM: IdempotencyClaim = Object.freeze({ status: "claimed" });
const PENDING_CLAIM: IdempotencyClaim = Object.freeze({ status: "pending" });
const CLAIMED: Promise<IdempotencyClaim> = Promise.resolve(CLAIMED_CLAIM);
const PENDING: Promise<IdempotencyClaim> = Promise.resolve(PENDING_CLAIM);

/** The outcome of a handling that published no reply: most events', shared by all of them. */
export const NO_REPLIES: IdempotencyOutcome = Object.freeze({ replies: Object.freeze([]) });
const DONE_NO_REPLIES: IdempotencyClaim = Object.freeze({ status: "done", outcome: NO_REPLIES });

/**
 * Most scope-and-name prefixes a store gives a group id of its own; the
 * keys of any further ones are kept whole under {@linkcode NO_GROUP}.
 */
const MAX_GROUPS = 4096;
/** The group of keys kept whole. */
export const NO_GROUP = -1;

/** Where an entry of a {@linkcode MemoryIdempotencyStore} stands. */
/** Where an entry's state and version are among the four 32-bit words of its record. */
const STATE = 2;
const VERSION = 3;

const IN_FLIGHT = 1;
const COMPLETED = 2;

/** The default {@linkcode MemoryIdempotencyStoreOptions.maxEntries}. */
export const DEFAULT_IDEMPOTENCY_ENTRIES = 10_000;

/**
 * The scoped key of an event's idempotency key, as the idempotency
 * middleware passes it to a store: scope, event name and key, joined by
 * NUL (which never occurs in event names or group names, so the parts
 * cannot run together).
 */
export function scopedIdempotencyKey(scope: string, name: string, key: string): string {
  return `${scopedPrefix(scope, name)}${key}`;
}

/** The part of a scoped key before the event's own key. */
export function scopedPrefix(scope: string, name: string): string {
  return `${scope}\u0000${name}\u0000`;
}

/**
 * The synchronous face of a {@linkcode MemoryIdempotencyStore}, for the
 * idempotency middleware: keys are given as a group (the id of their
 * scoped prefix, from `groupOf()`) and the event's own key, so no scoped
 * string and no promise is built per event, and a claim's entry is
 * completed by its index without looking the key up again.
 */
export interface MemoryStoreAccess {
  /**
   * The group id of a scoped prefix (`scopedPrefix()`), or
   * {@linkcode NO_GROUP} when the store has no room for more: use the
   * `IdempotencyStore` interface for those keys.
   */
  groupOf(store: MemoryIdempotencyStore, prefix: string): number;
  /**
   * Claims a key: the entry's index (>= 0) when the caller holds it now,
   * {@linkcode CLAIM_PENDING} when another owner does, or
   * {@linkcode CLAIM_DONE} when it was handled (its outcome is then
   * `lastOutcome()`).
   */
  claim(
    store: MemoryIdempotencyStore,
    group: number,
    key: string,
    owner: string,
    ttl: number,
  ): number;
  /** The outcome the last `claim()` that returned {@linkcode CLAIM_DONE} found. */
  lastOutcome(store: MemoryIdempotencyStore): IdempotencyOutcome;
  /** The version of the entry at `index`, which changes whenever the index gets another key. */
  versionAt(store: MemoryIdempotencyStore, index: number): number;
  /**
   * Completes a claimed key: in place when `index` still holds that
   * `version`'s entry in flight, else by looking the key up (it was
   * evicted while in flight).
   */
  complete(
    store: MemoryIdempotencyStore,
    index: number,
    version: number,
    group: number,
    key: string,
    outcome: IdempotencyOutcome,
    ttl: number,
  ): void;
  /**
   * Releases `owner`'s claim of a key (its handling failed for good): in
   * place when `index` still holds that `version`'s entry in flight, else
   * by looking the key up.
   */
  release(
    store: MemoryIdempotencyStore,
    index: number,
    version: number,
    group: number,
    key: string,
    owner: string,
  ): void;
}

/** {@linkcode MemoryStoreAccess.claim}: another owner holds the key. */
export const CLAIM_PENDING = -1;
/** {@linkcode MemoryStoreAccess.claim}: the key was handled; see `lastOutcome()`. */
export const CLAIM_DONE = -2;

/** See {@linkcode MemoryStoreAccess}; set once the store class is defined. */
export let memoryStore: MemoryStoreAccess;

/**
 * An {@linkcode IdempotencyStore} in this process's memory: at most
 * `maxEntries` keys, least recently used evicted first, each lapsing
 * `ttl` ms after it was claimed or completed (a claim the idempotency
 * middleware makes is timed at the store's next clock reading, to save a
 * reading per event: it lapses no sooner than `ttl` after it was made, and
 * at most `ttl` after the first look-up that finds it in flight).
 * Replicas in one process share outcomes by sharing one instance; replicas
 * on many machines need a shared store (the JetStream key-value one).
 *
 * A key is looked up by its scope and event name (the part of a scoped key
 * up to its second NUL) and its own characters, in a hash table of typed
 * arrays: the characters of a Latin-1 key (UUIDs, ULIDs, hex digests) are
 * kept as bytes, so the store keeps no string and no object per key on the
 * heap, beyond the replies of those handlings that published some. About
 * 100 bytes a UUID key; the arrays grow with the keys held, up to
 * `maxEntries`.
 *
 * @example Share one store between two workers of a group
 * ```ts
 * import { MemoryIdempotencyStore } from "@bus/integration";
 *
 * const store = new MemoryIdempotencyStore({ maxEntries: 50_000 });
 * // runWorker({ …, group: "billing", idempotency: { store } }) in each worker
 * console.log(store.size); // 0
 * ```
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  static {
    memoryStore = {
      groupOf: (store, prefix) => store.#groupOf(prefix),
      claim: (store, group, key, owner, ttl) => store.#claim(group, key, owner, ttl, false),
      lastOutcome: (store) => store.#lastOutcome,
      versionAt: (store, index) => store.#marks[4 * index + VERSION]!,
      complete(store, index, version, group, key, outcome, ttl) {
        if (
          store.#marks[4 * index + VERSION] === version &&
          store.#marks[4 * index + STATE] === IN_FLIGHT
        ) {
          store.#completeAt(index, outcome, ttl);
        } else {
          store.#complete(group, key, outcome, ttl);
        }
      },
      release(store, index, version, group, key, owner) {
        if (
          store.#marks[4 * index + VERSION] === version &&
          store.#marks[4 * index + STATE] === IN_FLIGHT && store.#values[index] === owner
        ) {
          store.#drop(index);
        } else {
          store.#release(group, key, owner);
        }
      },
    };
  }

  /** Most keys kept. */
  readonly maxEntries: number;
  readonly #now: () => number;
  readonly #table: KeyTable;
  /** Scoped prefixes by group id. */
  readonly #groups = new Map<string, number>();
  /** The key `#locate()` found the group of, without its prefix. */
  #located = "";
  /**
   * Per entry, by its index in the table, one record of 16 bytes: when it
   * lapses (ms, in `#times[2 * index]`), then its state and version (in
   * `#marks[4 * index + 2]` and `+ 3`, the same buffer). One record, not
   * three arrays: a worker busy with everything else between two events
   * misses the cache once for it.
   */
  #times = new Float64Array(0);
  #marks = new Int32Array(0);
  /**
   * Who holds an entry in flight (the owner's id), or what a completed one
   * answers (`undefined` for {@linkcode NO_REPLIES}).
   */
  readonly #values: Array<string | IdempotencyOutcome | undefined> = [];
  /** Callbacks of `settled()` calls waiting for an entry in flight. */
  readonly #waiters = new Map<number, Array<() => void>>();
  /**
   * Per entry with waiters, the timer that drops it when its claim lapses:
   * a claim nobody completes or releases (its worker died) must not keep
   * its duplicates waiting past its time to live.
   */
  readonly #lapseTimers = new Map<number, ReturnType<typeof setTimeout>>();
  #lastOutcome: IdempotencyOutcome = NO_REPLIES;
  /** Claims not timed yet, by index (see `#claim()`); at most this many before the clock is read. */
  readonly #untimedClaims = new Int32Array(64);
  #untimedCount = 0;

  /**
   * Creates an empty store.
   *
   * @throws {RangeError} unless `maxEntries` is an integer >= 1.
   */
  constructor(options?: MemoryIdempotencyStoreOptions) {
    const maxEntries = options?.maxEntries ?? DEFAULT_IDEMPOTENCY_ENTRIES;
    if (typeof maxEntries !== "number" || !Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(
        `Cannot use maxEntries: current value is ${String(maxEntries)}, expected an integer >= 1`,
      );
    }
    this.maxEntries = maxEntries;
    this.#now = options?.now ?? Date.now;
    this.#table = new KeyTable(maxEntries);
    this.#fit();
  }

  /** Keys held now (lapsed ones count until they are looked up or evicted). */
  get size(): number {
    return this.#table.size;
  }

  claim(key: string, owner: string, ttl: number): Promise<IdempotencyClaim> {
    const group = this.#locate(key);
    const found = this.#claim(group, this.#located, owner, ttl, true);
    if (found >= 0) return CLAIMED;
    if (found === CLAIM_PENDING) return PENDING;
    const outcome = this.#lastOutcome;
    return Promise.resolve(
      outcome === NO_REPLIES ? DONE_NO_REPLIES : { status: "done", outcome },
    );
  }

  complete(key: string, outcome: IdempotencyOutcome, ttl: number): Promise<void> {
    const group = this.#locate(key);
    this.#complete(group, this.#located, outcome, ttl);
    return RESOLVED;
  }

  release(key: string, owner: string): Promise<void> {
    const group = this.#locate(key);
    this.#release(group, this.#located, owner);
    return RESOLVED;
  }

  settled(key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const group = this.#locate(key);
    const index = this.#live(group, this.#located);
    if (index === NO_INDEX || this.#marks[4 * index + STATE] !== IN_FLIGHT) return RESOLVED;
    let waiters = this.#waiters.get(index);
    if (waiters === undefined) {
      this.#waiters.set(index, waiters = []);
      this.#dropAtLapse(index);
    }
    return waitInLine(waiters, signal);
  }

  /**
   * The group id of `prefix`, or {@linkcode NO_GROUP} once
   * {@linkcode MAX_GROUPS} prefixes have one (ids are never given back).
   */
  #groupOf(prefix: string): number {
    let group = this.#groups.get(prefix);
    if (group === undefined) {
      if (this.#groups.size === MAX_GROUPS) return NO_GROUP;
      group = this.#groups.size;
      this.#groups.set(prefix, group);
    }
    return group;
  }

  /**
   * The group of a scoped key (see `splitAt()`), leaving the rest of the
   * key in `#located`; a key whose prefix has no group is kept whole under
   * {@linkcode NO_GROUP}, so keys of any number of prefixes never collide.
   */
  #locate(key: string): number {
    const split = splitAt(key);
    const group = this.#groupOf(key.slice(0, split));
    this.#located = group === NO_GROUP ? key : key.slice(split);
    return group;
  }

  /**
   * Claims a key. A fresh key's claim is `timed` now, or else (the
   * middleware's claims, one clock reading fewer per event) at the store's
   * next clock reading: the claim's own completion at the latest, or the
   * first look-up that finds it. So it lapses no sooner than `ttl` after it
   * was made.
   */
  #claim(group: number, key: string, owner: string, ttl: number, timed: boolean): number {
    const table = this.#table;
    const index = table.find(group, key);
    if (index === NO_INDEX) {
      if (timed) return this.#add(group, key, this.#clock() + ttl, owner, undefined);
      const added = this.#add(group, key, -ttl, owner, undefined);
      this.#untimed(added);
      return added;
    }
    const now = this.#clock();
    if (this.#times[2 * index]! <= now) {
      // Lapsed: the caller claims it in place, and whoever waited for it claims again.
      this.#hold(index, now + ttl, owner);
      table.touch(index);
      this.#wake(index);
      return index;
    }
    if (this.#marks[4 * index + STATE] === IN_FLIGHT) {
      return this.#values[index] === owner ? index : CLAIM_PENDING;
    }
    // A hit makes the key the most recently used.
    table.touch(index);
    this.#lastOutcome = (this.#values[index] as IdempotencyOutcome | undefined) ?? NO_REPLIES;
    return CLAIM_DONE;
  }

  #complete(group: number, key: string, outcome: IdempotencyOutcome, ttl: number): void {
    const index = this.#table.find(group, key);
    // Evicted while in flight: stored again as the newest.
    if (index === NO_INDEX) this.#add(group, key, this.#clock() + ttl, undefined, outcome);
    else this.#completeAt(index, outcome, ttl);
  }

  /** Records `outcome` at `index`; the claim made it the newest already, completing does not move it. */
  /** Drops `key` if `owner` holds it in flight. */
  #release(group: number, key: string, owner: string): void {
    const index = this.#table.find(group, key);
    if (
      index !== NO_INDEX && this.#marks[4 * index + STATE] === IN_FLIGHT &&
      this.#values[index] === owner
    ) {
      this.#drop(index);
    }
  }

  /**
   * Drops the in-flight entry at `index` once its claim lapses (which wakes
   * its waiters), or looks again then if it was claimed anew meanwhile.
   */
  #dropAtLapse(index: number): void {
    const wait = timerDelay(this.#times[2 * index]! - this.#clock());
    this.#lapseTimers.set(
      index,
      setTimeout(() => {
        this.#lapseTimers.delete(index);
        if (!this.#waiters.has(index) || this.#marks[4 * index + STATE] !== IN_FLIGHT) return;
        if (this.#times[2 * index]! <= this.#clock()) this.#drop(index);
        else this.#dropAtLapse(index);
      }, wait),
    );
  }

  #completeAt(index: number, outcome: IdempotencyOutcome, ttl: number): void {
    this.#marks[4 * index + STATE] = COMPLETED;
    this.#times[2 * index] = this.#clock() + ttl;
    this.#values[index] = outcome.replies.length === 0 ? undefined : outcome;
    this.#wake(index);
  }

  /** The index of `key` unless it lapsed (a lapsed one is dropped). */
  #live(group: number, key: string): number {
    const index = this.#table.find(group, key);
    if (index === NO_INDEX) return index;
    // The clock first: reading it times the claims that wait for it.
    const now = this.#clock();
    if (this.#times[2 * index]! > now) return index;
    this.#drop(index);
    return NO_INDEX;
  }

  /** Adds a key after a `find()` of it missed, evicting the least recently used when full. */
  #add(
    group: number,
    key: string,
    expiresAt: number,
    owner: string | undefined,
    outcome: IdempotencyOutcome | undefined,
  ): number {
    const table = this.#table;
    // The table places the key by the hash its last `find()` computed, which a drop leaves alone.
    if (table.size === this.maxEntries) this.#drop(table.oldest);
    const index = table.insert(group, key);
    // Two float64 words a record: room for `#times.length / 2` entries.
    if (2 * index >= this.#times.length) this.#fit();
    this.#marks[4 * index + VERSION]!++;
    if (owner === undefined) {
      this.#marks[4 * index + STATE] = COMPLETED;
      this.#times[2 * index] = expiresAt;
      this.#values[index] = outcome === undefined || outcome.replies.length === 0
        ? undefined
        : outcome;
    } else {
      this.#hold(index, expiresAt, owner);
    }
    return index;
  }

  /** Marks `index` in flight for `owner` until `expiresAt`. */
  #hold(index: number, expiresAt: number, owner: string): void {
    this.#marks[4 * index + STATE] = IN_FLIGHT;
    this.#times[2 * index] = expiresAt;
    this.#values[index] = owner;
  }

  /** Forgets the entry at `index`, waking whoever waits for it (they claim again). */
  #drop(index: number): void {
    this.#values[index] = undefined;
    this.#marks[4 * index + STATE] = 0;
    this.#table.remove(index);
    this.#wake(index);
  }

  #wake(index: number): void {
    if (this.#waiters.size === 0) return;
    const waiters = this.#waiters.get(index);
    if (waiters === undefined) return;
    this.#waiters.delete(index);
    clearTimeout(this.#lapseTimers.get(index));
    this.#lapseTimers.delete(index);
    for (const wake of waiters) wake();
  }

  /** Reads the store's clock, first timing the claims that wait for it (see `#claim()`). */
  #clock(): number {
    const now = this.#now();
    if (this.#untimedCount > 0) this.#time(now);
    return now;
  }

  /** Marks the claim at `index`, whose `expiresAt` holds `-ttl`, to be timed at the next clock reading. */
  #untimed(index: number): void {
    if (this.#untimedCount === this.#untimedClaims.length) this.#time(this.#now());
    this.#untimedClaims[this.#untimedCount++] = index;
  }

  /** Times the claims that waited for a clock reading as made at `now`. */
  #time(now: number): void {
    const claims = this.#untimedClaims;
    const times = this.#times;
    for (let i = 0; i < this.#untimedCount; i++) {
      const index = claims[i]!;
      // An index evicted and reused since holds another entry, timed already.
      const ttl = -times[2 * index]!;
      if (ttl > 0 && this.#marks[4 * index + STATE] === IN_FLIGHT) times[2 * index] = now + ttl;
    }
    this.#untimedCount = 0;
  }

  /** Grows the per-entry records to the table's capacity. */
  #fit(): void {
    const capacity = this.#table.capacity;
    const times = new Float64Array(2 * capacity);
    times.set(this.#times);
    this.#times = times;
    this.#marks = new Int32Array(times.buffer);
    const values = this.#values;
    for (let i = values.length; i < capacity; i++) values[i] = undefined;
  }
}

/**
 * Where a scoped key's own part starts: after its second NUL. A key with
 * fewer NULs (not built by {@linkcode scopedIdempotencyKey}) is kept whole
 * under the empty prefix, which no scoped key has, so no two keys ever
 * share a slot.
 */
function splitAt(key: string): number {
  const first = key.indexOf("\u0000");
  const second = first < 0 ? -1 : key.indexOf("\u0000", first + 1);
  return second < 0 ? 0 : second + 1;
}
