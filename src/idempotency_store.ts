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
 *   holds it and ends it with `complete()`.
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
   * Resolves once `key` is no longer in flight (completed or lapsed), at
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

/** One key of a {@linkcode MemoryIdempotencyStore}; completed in place. */
class Entry {
  expiresAt: number;
  /** Who claimed it; `undefined` once completed. */
  owner: string | undefined;
  /** Set once completed; in flight while `undefined`. */
  outcome: IdempotencyOutcome | undefined;
  /** Callbacks of `settled()` calls waiting while in flight; made on the first wait. */
  waiters: Array<() => void> | undefined = undefined;
  /** The group it is kept in, under `key`, and the group's prefix. */
  readonly group: Group;
  readonly prefix: string;
  readonly key: string;
  /** Its neighbours in recency order (`older` towards the least recently used). */
  older: Entry | undefined = undefined;
  newer: Entry | undefined = undefined;

  constructor(
    group: Group,
    prefix: string,
    key: string,
    expiresAt: number,
    owner: string | undefined,
    outcome: IdempotencyOutcome | undefined,
  ) {
    this.group = group;
    this.prefix = prefix;
    this.key = key;
    this.expiresAt = expiresAt;
    this.owner = owner;
    this.outcome = outcome;
  }

  /** Wakes whoever waits for this entry. */
  wake(): void {
    const waiters = this.waiters;
    if (waiters === undefined) return;
    this.waiters = undefined;
    for (const wake of waiters) wake();
  }
}

/** The keys that share one scope and event name, by the event's own key. */
type Group = Map<string, Entry>;

// Claims are plain data, so one object (and one resolved promise) per answer serves every call.
const CLAIMED_CLAIM: IdempotencyClaim = Object.freeze({ status: "claimed" });
const PENDING_CLAIM: IdempotencyClaim = Object.freeze({ status: "pending" });
const CLAIMED: Promise<IdempotencyClaim> = Promise.resolve(CLAIMED_CLAIM);
const PENDING: Promise<IdempotencyClaim> = Promise.resolve(PENDING_CLAIM);
const DONE: Promise<void> = Promise.resolve();

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
 * Claims `prefix + key` in `store` synchronously; see
 * {@linkcode MemoryIdempotencyStore.claim}. For the idempotency middleware:
 * it skips building the scoped key and a promise per event.
 */
export let claimScoped: (
  store: MemoryIdempotencyStore,
  prefix: string,
  key: string,
  owner: string,
  ttl: number,
) => IdempotencyClaim;

/** Completes `prefix + key` in `store` synchronously; see {@linkcode MemoryIdempotencyStore.complete}. */
export let completeScoped: (
  store: MemoryIdempotencyStore,
  prefix: string,
  key: string,
  outcome: IdempotencyOutcome,
  ttl: number,
) => void;

/**
 * An {@linkcode IdempotencyStore} in this process's memory: at most
 * `maxEntries` keys, least recently used evicted first, each lapsing
 * `ttl` ms after it was claimed or completed. Replicas in one process
 * share outcomes by sharing one instance; replicas on many machines need a
 * shared store (the JetStream key-value one).
 *
 * Keys are kept by their scope and event name first, then by the event's
 * own key (the part after the second NUL of a scoped key), so a key is
 * looked up by the string the event carried, never by a string built per
 * event; recency is a linked list through the entries.
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
    claimScoped = (store, prefix, key, owner, ttl) => store.#claim(prefix, key, owner, ttl);
    completeScoped = (store, prefix, key, outcome, ttl) =>
      store.#complete(prefix, key, outcome, ttl);
  }

  /** Most keys kept. */
  readonly maxEntries: number;
  readonly #now: () => number;
  readonly #groups = new Map<string, Group>();
  #size = 0;
  /** The least recently used entry, then towards `#newest` through `newer`. */
  #oldest: Entry | undefined = undefined;
  #newest: Entry | undefined = undefined;

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
  }

  /** Keys held now (lapsed ones count until they are looked up or evicted). */
  get size(): number {
    return this.#size;
  }

  claim(key: string, owner: string, ttl: number): Promise<IdempotencyClaim> {
    const split = splitAt(key);
    const claim = this.#claim(key.slice(0, split), key.slice(split), owner, ttl);
    return claim === CLAIMED_CLAIM
      ? CLAIMED
      : claim === PENDING_CLAIM
      ? PENDING
      : Promise.resolve(claim);
  }

  complete(key: string, outcome: IdempotencyOutcome, ttl: number): Promise<void> {
    const split = splitAt(key);
    this.#complete(key.slice(0, split), key.slice(split), outcome, ttl);
    return DONE;
  }

  settled(key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const split = splitAt(key);
    const entry = this.#live(key.slice(0, split), key.slice(split));
    if (entry === undefined || entry.outcome !== undefined) return DONE;
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = entry.waiters?.indexOf(wake) ?? -1;
        if (index >= 0) entry.waiters?.splice(index, 1);
        reject(signal.reason);
      };
      (entry.waiters ??= []).push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #claim(prefix: string, key: string, owner: string, ttl: number): IdempotencyClaim {
    const entry = this.#live(prefix, key);
    if (entry === undefined) {
      this.#add(prefix, key, this.#now() + ttl, owner, undefined);
      return CLAIMED_CLAIM;
    }
    if (entry.outcome === undefined) return entry.owner === owner ? CLAIMED_CLAIM : PENDING_CLAIM;
    // A hit makes the key the most recently used.
    this.#unlink(entry);
    this.#append(entry);
    return { status: "done", outcome: entry.outcome };
  }

  #complete(prefix: string, key: string, outcome: IdempotencyOutcome, ttl: number): void {
    const expiresAt = this.#now() + ttl;
    const entry = this.#groups.get(prefix)?.get(key);
    if (entry === undefined) {
      // Evicted while in flight: stored again as the newest.
      this.#add(prefix, key, expiresAt, undefined, outcome);
      return;
    }
    // The claim made it the newest already; completing does not move it.
    entry.expiresAt = expiresAt;
    entry.owner = undefined;
    entry.outcome = outcome;
    entry.wake();
  }

  /** The entry of `key` unless it lapsed (a lapsed one is dropped). */
  #live(prefix: string, key: string): Entry | undefined {
    const entry = this.#groups.get(prefix)?.get(key);
    if (entry === undefined || entry.expiresAt > this.#now()) return entry;
    this.#drop(entry);
    return undefined;
  }

  #add(
    prefix: string,
    key: string,
    expiresAt: number,
    owner: string | undefined,
    outcome: IdempotencyOutcome | undefined,
  ): void {
    let group = this.#groups.get(prefix);
    if (group === undefined) {
      group = new Map();
      this.#groups.set(prefix, group);
    }
    const entry = new Entry(group, prefix, key, expiresAt, owner, outcome);
    group.set(key, entry);
    this.#size++;
    this.#append(entry);
    while (this.#size > this.maxEntries) this.#drop(this.#oldest!);
  }

  /** Forgets `entry`, waking whoever waits for it (they claim again). */
  #drop(entry: Entry): void {
    const group = entry.group;
    if (group.get(entry.key) !== entry) return;
    group.delete(entry.key);
    if (group.size === 0) this.#groups.delete(entry.prefix);
    this.#size--;
    this.#unlink(entry);
    entry.wake();
  }

  /** Makes `entry` the most recently used. */
  #append(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.older === undefined) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = entry.newer = undefined;
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
