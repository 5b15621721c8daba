/**
 * An {@linkcode IdempotencyStore} in a JetStream key-value bucket, so that
 * the replicas of a worker group on many machines share which idempotency
 * keys were handled and what they answered.
 *
 * @module
 */

import type { NatsConnection } from "./connection.ts";
import { unwatchAbort, watchAbort } from "../abort_watch.ts";
import { mapNatsError } from "./error_mapping.ts";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type {
  IdempotencyClaim,
  IdempotencyOutcome,
  IdempotencyStore,
} from "../idempotency_store.ts";

/** Options of {@linkcode NatsIdempotencyStore.open}. */
export interface NatsIdempotencyStoreOptions {
  /** The connection to use; the caller owns it (the store never closes it). */
  connection: NatsConnection;
  /**
   * The key-value bucket; created when missing. Letters, digits, `-` and `_`.
   *
   * @default {"bus-idempotency"}
   */
  bucket?: string | undefined;
  /**
   * How long the server keeps a key at all, in ms (the bucket's `ttl`):
   * garbage collection only, each record carries its own expiry. Keep it
   * at least the longest `idempotency.ttl` that uses the bucket.
   *
   * @default {86400000}
   */
  maxAge?: number | undefined;
  /** The clock records are timed by, in ms. @default {Date.now} */
  now?: (() => number) | undefined;
}

/** What the bucket holds per key, as JSON. */
interface StoredRecord {
  /** When the claim or the outcome lapses, in ms of the store's clock. */
  expiresAt: number;
  /** The event that holds a pending claim. */
  owner?: string | undefined;
  /** Set once completed. */
  outcome?: IdempotencyOutcome | undefined;
}

/** The default {@linkcode NatsIdempotencyStoreOptions.bucket}. */
export const DEFAULT_IDEMPOTENCY_BUCKET = "bus-idempotency";
const DAY = 24 * 60 * 60 * 1000;
const BUCKET_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * An {@linkcode IdempotencyStore} in a JetStream key-value bucket. A claim
 * is an atomic create (or a compare-and-set over a lapsed or deleted
 * record), so of two replicas claiming one key at once exactly one wins;
 * a duplicate waiting for an in-flight key watches it. Keys are stored as
 * the SHA-256 of the scoped key, so any key fits the bucket's key syntax.
 *
 * @example Two replicas on two machines share outcomes
 * ```ts ignore
 * import { connect } from "@nats-io/transport-node";
 * import { runWorker } from "@bus/integration";
 * import { NatsIdempotencyStore } from "@bus/integration/nats";
 *
 * const connection = await connect({ servers: "nats://127.0.0.1:4222" });
 * const store = await NatsIdempotencyStore.open({ connection });
 * await runWorker({
 *   transport,
 *   names: ["billing.charge.request"],
 *   delivery: "unicast",
 *   group: "billing",
 *   idempotency: { store },
 *   handler,
 * });
 * ```
 */
export class NatsIdempotencyStore implements IdempotencyStore {
  /** The bucket's name. */
  readonly bucket: string;
  readonly #kv: KV;
  readonly #now: () => number;

  private constructor(bucket: string, kv: KV, now: () => number) {
    this.bucket = bucket;
    this.#kv = kv;
    this.#now = now;
  }

  /**
   * Opens the bucket, creating it when missing, and returns the store.
   *
   * @throws {TypeError} When `bucket` is not a valid bucket name.
   * @throws {RangeError} When `maxAge` is not a number of ms > 0.
   */
  static async open(options: NatsIdempotencyStoreOptions): Promise<NatsIdempotencyStore> {
    const bucket = options.bucket ?? DEFAULT_IDEMPOTENCY_BUCKET;
    if (typeof bucket !== "string" || !BUCKET_NAME.test(bucket)) {
      throw new TypeError(
        `Cannot open idempotency bucket: bucket is ${
          JSON.stringify(bucket)
        }, expected letters, digits, '-' or '_'`,
      );
    }
    const maxAge = options.maxAge ?? DAY;
    if (!(typeof maxAge === "number" && Number.isFinite(maxAge) && maxAge > 0)) {
      throw new RangeError(
        `Cannot open idempotency bucket: maxAge is ${String(maxAge)}, expected ms > 0`,
      );
    }
    const kv = await new Kvm(options.connection).create(bucket, { history: 1, ttl: maxAge });
    return new NatsIdempotencyStore(bucket, kv, options.now ?? Date.now);
  }

  claim(key: string, owner: string, ttl: number): Promise<IdempotencyClaim> {
    return this.#named(this.#claim(key, owner, ttl));
  }

  complete(key: string, outcome: IdempotencyOutcome, ttl: number): Promise<void> {
    return this.#named(this.#complete(key, outcome, ttl));
  }

  /**
   * Deletes `owner`'s claim of `key`, by compare-and-delete on the revision
   * read: a key completed or claimed by another event since is left alone.
   */
  release(key: string, owner: string): Promise<void> {
    return this.#named(this.#release(key, owner));
  }

  async settled(key: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#settled(key, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw this.#mapped(error);
    }
  }

  /** `work`, its failure mapped to an error that names this store's bucket. */
  async #named<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.#mapped(error);
    }
  }

  #mapped(error: unknown): unknown {
    return mapNatsError(error, `use idempotency bucket "${this.bucket}"`);
  }

  async #claim(key: string, owner: string, ttl: number): Promise<IdempotencyClaim> {
    const stored = await storedKey(key);
    for (;;) {
      const entry = await this.#kv.get(stored);
      const record = this.#live(entry);
      if (record?.outcome !== undefined) return { status: "done", outcome: record.outcome };
      if (record !== undefined && record.owner !== owner) return { status: "pending" };
      const claim = JSON.stringify({ expiresAt: this.#now() + ttl, owner } satisfies StoredRecord);
      try {
        if (entry === null) await this.#kv.create(stored, claim);
        else await this.#kv.update(stored, claim, entry.revision);
        return { status: "claimed" };
      } catch (error) {
        // Lost a race (the key moved since it was read): look again.
        const now = await this.#kv.get(stored);
        if ((now?.revision ?? 0) === (entry?.revision ?? 0)) throw error;
      }
    }
  }

  async #complete(key: string, outcome: IdempotencyOutcome, ttl: number): Promise<void> {
    const record: StoredRecord = { expiresAt: this.#now() + ttl, outcome };
    await this.#kv.put(await storedKey(key), JSON.stringify(record));
  }

  async #release(key: string, owner: string): Promise<void> {
    const stored = await storedKey(key);
    const entry = await this.#kv.get(stored);
    const record = this.#live(entry);
    if (entry === null || record?.owner !== owner || record.outcome !== undefined) return;
    try {
      await this.#kv.delete(stored, { previousSeq: entry.revision });
    } catch (error) {
      // The key moved since it was read (completed, or claimed anew): not ours to delete.
      const now = await this.#kv.get(stored);
      if ((now?.revision ?? 0) === entry.revision) throw error;
    }
  }

  async #settled(key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    const stored = await storedKey(key);
    // Watching first, then reading, so no change can fall in between.
    const watcher = await this.#kv.watch({ key: stored });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => watcher.stop();
    // A pending claim that is never completed still lapses.
    const lapseAt = (record: StoredRecord) => {
      clearTimeout(timer);
      timer = setTimeout(stop, Math.max(0, record.expiresAt - this.#now()));
    };
    watchAbort(signal, stop);
    try {
      const current = this.#live(await this.#kv.get(stored));
      if (current === undefined || current.outcome !== undefined) return;
      lapseAt(current);
      for await (const entry of watcher) {
        const record = this.#live(entry);
        if (record === undefined || record.outcome !== undefined) return;
        lapseAt(record);
      }
    } finally {
      clearTimeout(timer);
      unwatchAbort(signal, stop);
      watcher.stop();
    }
    if (signal.aborted) throw signal.reason;
  }

  /** The record of `entry` unless there is none, it was deleted, or it lapsed. */
  #live(entry: KvEntry | null): StoredRecord | undefined {
    if (entry === null || entry.operation !== "PUT") return undefined;
    let record: StoredRecord;
    try {
      record = entry.json<StoredRecord>();
    } catch {
      return undefined; // Not ours: treated as free, and overwritten by the next claim.
    }
    return typeof record?.expiresAt === "number" && record.expiresAt > this.#now()
      ? record
      : undefined;
  }
}

/** The bucket key of a scoped key: its SHA-256, in hex. */
async function storedKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
