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

  constructor(
    expiresAt: number,
    owner: string | undefined,
    outcome: IdempotencyOutcome | undefined,
  ) {
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

// Claims are plain data, so one resolved promise per answer serves every call.
const CLAIMED: Promise<IdempotencyClaim> = Promise.resolve(Object.freeze({ status: "claimed" }));
const PENDING: Promise<IdempotencyClaim> = Promise.resolve(Object.freeze({ status: "pending" }));
const DONE: Promise<void> = Promise.resolve();

/** The default {@linkcode MemoryIdempotencyStoreOptions.maxEntries}. */
export const DEFAULT_IDEMPOTENCY_ENTRIES = 10_000;

/**
 * An {@linkcode IdempotencyStore} in this process's memory: at most
 * `maxEntries` keys, least recently used evicted first, each lapsing
 * `ttl` ms after it was claimed or completed. Replicas in one process
 * share outcomes by sharing one instance; replicas on many machines need a
 * shared store (the JetStream key-value one).
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
  /** Most keys kept. */
  readonly maxEntries: number;
  readonly #now: () => number;
  /** In recency order: the first is the least recently used. */
  readonly #entries = new Map<string, Entry>();

  /**
   * Creates an empty store.
   *
   * @throws {RangeError} unless `maxEntries` is an integer >= 1.
   */
  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_IDEMPOTENCY_ENTRIES;
    if (typeof maxEntries !== "number" || !Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(
        `Cannot use maxEntries: current value is ${String(maxEntries)}, expected an integer >= 1`,
      );
    }
    this.maxEntries = maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** Keys held now (lapsed ones count until they are looked up or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  claim(key: string, owner: string, ttl: number): Promise<IdempotencyClaim> {
    const entry = this.#live(key);
    if (entry === undefined) {
      this.#set(key, new Entry(this.#now() + ttl, owner, undefined));
      return CLAIMED;
    }
    if (entry.outcome === undefined) return entry.owner === owner ? CLAIMED : PENDING;
    // A hit makes the key the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return Promise.resolve({ status: "done", outcome: entry.outcome });
  }

  complete(key: string, outcome: IdempotencyOutcome, ttl: number): Promise<void> {
    const expiresAt = this.#now() + ttl;
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      // Evicted while in flight: stored again as the newest.
      this.#set(key, new Entry(expiresAt, undefined, outcome));
      return DONE;
    }
    // The claim made it the newest already; completing does not move it.
    entry.expiresAt = expiresAt;
    entry.owner = undefined;
    entry.outcome = outcome;
    entry.wake();
    return DONE;
  }

  settled(key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const entry = this.#live(key);
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

  /** The entry of `key` unless it lapsed (a lapsed one is dropped). */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.expiresAt > this.#now()) return entry;
    this.#drop(key);
    return undefined;
  }

  #set(key: string, entry: Entry): void {
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#drop(oldest);
    }
  }

  /** Forgets `key`, waking whoever waits for it (they claim again). */
  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    entry.wake();
  }
}
