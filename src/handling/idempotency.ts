/**
 * Idempotency keys: an event whose `metadata.idempotencyKey` this worker
 * group already handled within the time to live does not run the handler
 * again; it is answered with the first handling's replies, under its own
 * `correlationId`. A duplicate that arrives while the first is in flight
 * waits for it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { EventEnvelope } from "../envelope.ts";
import { describeError, ResponseError } from "../errors.ts";
import {
  IDEMPOTENCY_KEY,
  type IdempotencyClaim,
  type IdempotencyOutcome,
  type IdempotencyStore,
  MemoryIdempotencyStore,
  memoryStore,
  NO_GROUP,
  NO_REPLIES,
  type RecordedReply,
  scopedPrefix,
} from "../idempotency_store.ts";
import type { Publisher, PublishInit } from "../publisher.ts";
import type { PublishResult, Settlement } from "../transport.ts";
import type { HandlerMiddleware } from "./compose.ts";
import type { OutcomeStep } from "./outcome_step.ts";
import { type AttemptEnd, canEndAttempt, type HandlerContext } from "./context.ts";

/** How long a handled key answers its duplicates when the option sets none: 10 minutes, in ms. */
export const DEFAULT_IDEMPOTENCY_TTL = 600_000;

/**
 * The `idempotency` option of a worker, registration or host: on by
 * default; `false` turns it off (every event runs, keys or not).
 *
 * @example Share outcomes between the replicas of one process for an hour
 * ```ts
 * import { type IdempotencyOptions, MemoryIdempotencyStore } from "@bus/integration";
 *
 * const idempotency: IdempotencyOptions = {
 *   ttl: 60 * 60 * 1000,
 *   store: new MemoryIdempotencyStore({ maxEntries: 100_000 }),
 * };
 * ```
 */
export interface IdempotencyOptions {
  /** How long a handled key answers its duplicates, in ms (> 0). @default {600000} */
  ttl?: number | undefined;
  /**
   * Where handled keys are kept.
   *
   * @default {a MemoryIdempotencyStore per worker (one per Host, shared by its registrations)}
   */
  store?: IdempotencyStore | undefined;
}

/** What {@linkcode idempotency} needs besides the store. */
export interface IdempotencyMiddlewareOptions {
  /** Where handled keys are kept. */
  store: IdempotencyStore;
  /** How long a handled key answers its duplicates, in ms. */
  ttl: number;
  /** Whose keys these are (the unicast group): scopes every key. */
  scope: string;
  /** Counts duplicates answered from the store. */
  stats?: { duplicates: number } | undefined;
}

const logger = getLogger(["bus-integration", "worker"]);

/** The event's idempotency key, or `undefined` when it has none (or an empty one). */
export function idempotencyKeyOf(event: EventEnvelope): string | undefined {
  const key = event.metadata?.[IDEMPOTENCY_KEY];
  return typeof key === "string" && key !== "" ? key : undefined;
}

/**
 * The idempotency step (an outcome step that hands the events it must run
 * around to a middleware: `outcome_step.ts`). Events without a key pass
 * through. For a key: the first handling runs the rest of the pipeline with
 * a publisher that records its replies, and stores them as the outcome once
 * the handler returned; a duplicate within `ttl` skips the handler and
 * re-publishes those replies as its own; one that arrives while the first
 * is in flight waits for it (until the handler signal aborts). How an
 * attempt ends decides what becomes of its claim:
 *
 * - the handler returned: its replies (error replies it published itself
 *   included) are the key's outcome;
 * - settled `retry`: the claim is kept and nothing recorded; the next
 *   attempt (the worker's, or the transport's redelivery, which claims it
 *   again by the event's id) decides, and duplicates wait for that;
 * - failed for good (`dead`: not retryable, out of attempts, or the worker
 *   stopped): the claim is released, so its waiting duplicates, a retry
 *   with the same key and a redrive of its dead letter run the handler
 *   again; its own requester got the error response.
 *
 * The step sits inside the retry policy, the dead letter and the error
 * response, so a store that cannot be reached fails the attempt with
 * {@linkcode IdempotencyUnavailableError} like any failure: retried per the
 * policy, and once final answered with {@linkcode IDEMPOTENCY_UNAVAILABLE}
 * and dead-lettered, never run without its claim.
 *
 * The first handling of a key in a {@linkcode MemoryIdempotencyStore}
 * (nearly every event) costs one look-up that claims the key, one write
 * by the entry's index that completes it, and a recording publisher only
 * when the event has a `correlationId` (nothing can reply to one that has
 * none). In a worker it adds no middleware, no `async` frame and no
 * promise either: it hands the completion to the worker as the attempt's
 * end hook (`context.ts` `AttemptEnd`), which runs once the pipeline
 * settled and before the event is settled; a context made without a
 * worker gets it after `next()` settled. Duplicates, and every event of any
 * other store, go through the `IdempotencyStore` interface.
 */
export function idempotency(options: IdempotencyMiddlewareOptions): OutcomeStep {
  const { store, ttl, scope, stats } = options;
  // The in-memory store claims and completes a first handling synchronously
  // and by the key's parts: no scoped string and no promise of its own per
  // event. Any other store gets the scoped string through the interface.
  const memory = store instanceof MemoryIdempotencyStore ? store : undefined;
  const prefixes = new Map<string, string>();
  const prefixOf = (name: string) => {
    let prefix = prefixes.get(name);
    if (prefix === undefined) {
      prefix = scopedPrefix(scope, name);
      // Bounded by the names a worker listens to, plus the few a caller may pass.
      if (prefixes.size < 1024) prefixes.set(name, prefix);
    }
    return prefix;
  };
  // A worker mostly sees one name after another: the last one's group is
  // found by comparing strings, not by hashing the event's fresh name.
  let lastName: string | undefined;
  let lastGroup = 0;
  const groupOf = (memory: MemoryIdempotencyStore, name: string) => {
    if (name !== lastName) {
      lastGroup = memoryStore.groupOf(memory, prefixOf(name));
      lastName = name;
    }
    return lastGroup;
  };
  // Mostly an outcome step with nothing to observe: an event without a key
  // costs one call, and the first handling of a key in the in-memory store
  // no frame and no promise either. Every other event is handed to `keyed`.
  const handOver: HandlerMiddleware = (event, context, next) =>
    keyed(event, context, next, idempotencyKeyOf(event)!);
  return {
    started(event, context) {
      const key = idempotencyKeyOf(event);
      if (key === undefined) return undefined;
      if (memory === undefined) return handOver;
      const group = groupOf(memory, event.name);
      if (group === NO_GROUP) return handOver;
      const owner = ownerOf(event);
      const index = memoryStore.claim(memory, group, key, owner, ttl);
      // A duplicate (done or in flight) takes the general path.
      if (index < 0) return handOver;
      const version = memoryStore.versionAt(memory, index);
      // The claim records the replies too: one object per event, not two.
      const claim = recordReplies(
        context,
        new MemoryClaim(context.publisher, memory, index, version, group, key, owner, ttl),
      );
      return endsWithAttempt(claim, context);
    },
  };

  function keyed(
    event: EventEnvelope,
    context: HandlerContext,
    next: () => Promise<void>,
    key: string,
  ): Promise<void> {
    const scoped = prefixOf(event.name) + key;
    const owner = ownerOf(event);
    return claimed(scoped, owner, context).then((outcome) => {
      if (outcome !== undefined) {
        if (stats) stats.duplicates++;
        return replay(outcome, context.publisher);
      }
      const claim = recordReplies(
        context,
        new StoreClaim(context.publisher, { store, scoped, key, owner, ttl }),
      );
      const around = endsWithAttempt(claim, context);
      return around === undefined ? next() : around(event, context, next);
    });
  }

  /**
   * Claims `scoped` for `owner`, waiting while another event holds it;
   * resolves with the outcome to replay for a duplicate, `undefined` once
   * claimed. A store that fails is {@linkcode IdempotencyUnavailableError}.
   */
  async function claimed(
    scoped: string,
    owner: string,
    context: HandlerContext,
  ): Promise<IdempotencyOutcome | undefined> {
    for (;;) {
      let found: IdempotencyClaim;
      try {
        found = await store.claim(scoped, owner, ttl);
        if (found.status === "claimed") return undefined;
        if (found.status === "done") return found.outcome;
        await store.settled(scoped, context.signal);
      } catch (error) {
        // A stop while waiting is the stop itself, not the store's failure.
        if (context.signal.aborted) throw error;
        throw new IdempotencyUnavailableError(error);
      }
    }
  }
}

/** The error code a request is answered with when the idempotency store cannot be reached. */
export const IDEMPOTENCY_UNAVAILABLE = "idempotency_unavailable";

/**
 * A store's {@linkcode IdempotencyOutcome} could not be checked (the store
 * failed or cannot be reached): the attempt fails with this error rather
 * than run the handler without a claim. It is retried per the `retry`
 * policy; its error response carries the code
 * {@linkcode IDEMPOTENCY_UNAVAILABLE}.
 */
export class IdempotencyUnavailableError extends ResponseError {
  /** Wraps the store's failure `cause`. */
  constructor(cause: unknown) {
    super(
      {
        code: IDEMPOTENCY_UNAVAILABLE,
        message: `Cannot check the idempotency key: ${describeError(cause)}`,
      },
      undefined,
      { cause },
    );
    this.name = "IdempotencyUnavailableError";
  }
}

/** A {@linkcode Publisher} that records the replies it published; its array is made at the first. */
class RecordingPublisher implements Publisher {
  #replies: RecordedReply[] | undefined = undefined;
  readonly #inner: Publisher;

  constructor(inner: Publisher) {
    this.#inner = inner;
  }

  get event(): EventEnvelope {
    return this.#inner.event;
  }

  get signal(): AbortSignal {
    return this.#inner.signal;
  }

  /** What the handling answered so far: its replies, or {@linkcode NO_REPLIES}. */
  outcome(): IdempotencyOutcome {
    return this.#replies === undefined ? NO_REPLIES : { replies: this.#replies };
  }

  publish(name: string, payload: unknown, init?: PublishInit): Promise<PublishResult> {
    return this.#inner.publish(name, payload, init);
  }

  async reply(payload: unknown, init?: PublishInit): Promise<PublishResult> {
    const result = await this.#inner.reply(payload, init);
    (this.#replies ??= []).push({ type: "reply", payload, metadata: init?.metadata });
    return result;
  }

  async replyError(code: string, message: string, init?: PublishInit): Promise<PublishResult> {
    const result = await this.#inner.replyError(code, message, init);
    (this.#replies ??= []).push({ type: "error", code, message, metadata: init?.metadata });
    return result;
  }
}

/** What an attempt that held a claim does with it as it ends (see {@linkcode idempotency}). */
type ClaimEnding = "keep" | "release" | "record";

function endingOf(settlement: Settlement | undefined, failed: boolean): ClaimEnding {
  if (settlement?.type === "retry") return "keep";
  return failed || settlement?.type === "dead" ? "release" : "record";
}

/**
 * A first handling's claim of a key: it records the handling's replies, when
 * the middleware puts it in front of the handler as its publisher, and ends
 * the claim when the attempt ends (by its settlement in a worker, else by
 * whether the rest of the pipeline failed).
 */
abstract class HeldClaim extends RecordingPublisher implements AttemptEnd {
  attemptEnded(context: HandlerContext): void | Promise<void> {
    return this.end(endingOf(context.settlement, false));
  }

  /** Records, keeps or releases the claim; a store that fails to is logged only. */
  abstract end(ending: ClaimEnding): void | Promise<void>;
}

/** Where a {@linkcode StoreClaim} is: the scoped key in its store. */
interface StoreClaimAt {
  store: IdempotencyStore;
  scoped: string;
  key: string;
  owner: string;
  ttl: number;
}

/**
 * {@linkcode HeldClaim} of the in-memory store, ended synchronously by the
 * entry's index (and looked up again by the key's parts when it moved). Its
 * fields are its own, not an object of them: one object per event.
 */
class MemoryClaim extends HeldClaim {
  constructor(
    inner: Publisher,
    readonly memory: MemoryIdempotencyStore,
    readonly index: number,
    readonly version: number,
    readonly group: number,
    readonly key: string,
    readonly owner: string,
    readonly ttl: number,
  ) {
    super(inner);
  }

  end(ending: ClaimEnding): void {
    if (ending === "keep") return;
    const { memory, index, version, group, key, owner } = this;
    try {
      if (ending === "release") memoryStore.release(memory, index, version, group, key, owner);
      else memoryStore.complete(memory, index, version, group, key, this.outcome(), this.ttl);
    } catch (error) {
      claimNotEnded(ending, key, error);
    }
  }
}

/** {@linkcode HeldClaim} of any other store, ended through its interface. */
class StoreClaim extends HeldClaim {
  readonly #at: StoreClaimAt;

  constructor(inner: Publisher, at: StoreClaimAt) {
    super(inner);
    this.#at = at;
  }

  async end(ending: ClaimEnding): Promise<void> {
    if (ending === "keep") return;
    const { store, scoped, key, owner, ttl } = this.#at;
    try {
      if (ending === "release") await store.release(scoped, owner);
      else await store.complete(scoped, this.outcome(), ttl);
    } catch (error) {
      claimNotEnded(ending, key, error);
    }
  }
}

/** Logs a store's failure to end a claim: the event itself was handled. */
function claimNotEnded(ending: "release" | "record", key: string, error: unknown): void {
  if (ending === "record") {
    // Only its duplicates may now run again.
    logger.warn("Cannot record the outcome of idempotency key {key}: {error}", { key, error });
  } else {
    // Its duplicates wait until the claim lapses (its ttl).
    logger.warn("Cannot release idempotency key {key}: {error}", { key, error });
  }
}

/**
 * Hands `claim` to the worker as the attempt's end hook and returns
 * `undefined`; in a context no worker ends, returns the middleware that
 * runs the rest of the pipeline and then ends it.
 */
function endsWithAttempt(
  claim: HeldClaim,
  context: HandlerContext,
): HandlerMiddleware | undefined {
  if (canEndAttempt(context)) {
    context.attemptEnd = claim;
    return undefined;
  }
  return async (_event, context, next) => {
    let failed = false;
    try {
      await next();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      await claim.end(endingOf(context.settlement, failed));
    }
  };
}

/**
 * Puts `recorder` in front of the handler as its publisher, unless the
 * event has no `correlationId` (it cannot be replied to, so its outcome
 * has no replies: the recorder then records none); returns it.
 */
function recordReplies<R extends RecordingPublisher>(context: HandlerContext, recorder: R): R {
  if (context.publisher.event.correlationId !== undefined) context.publisher = recorder;
  return recorder;
}

/** Owners of events without an id: one per envelope object, so the worker's own retries match. */
const anonymousOwners = new WeakMap<EventEnvelope, string>();

/** Who claims a key for `event`: its id, the same on every attempt and redelivery. */
function ownerOf(event: EventEnvelope): string {
  if (event.id !== undefined) return event.id;
  let owner = anonymousOwners.get(event);
  if (owner === undefined) {
    owner = `anonymous:${crypto.randomUUID()}`;
    anonymousOwners.set(event, owner);
  }
  return owner;
}

/**
 * The pipeline steps the `idempotency` option asks for: none for `false`,
 * else the middleware, with a fresh {@linkcode MemoryIdempotencyStore}
 * when the option names no store.
 */
export function idempotencySteps(
  option: IdempotencyOptions | false | undefined,
  scope: string,
  stats?: { duplicates: number },
): OutcomeStep[] {
  if (option === false) return [];
  return [idempotency({
    store: option?.store ?? new MemoryIdempotencyStore(),
    ttl: option?.ttl ?? DEFAULT_IDEMPOTENCY_TTL,
    scope,
    stats,
  })];
}

/**
 * A registration's `idempotency` over the one it inherits (its host's):
 * `false` or `undefined` decide alone; an object takes the inherited
 * `ttl` and `store` where it sets none.
 */
export function inheritIdempotency(
  own: IdempotencyOptions | false | undefined,
  inherited: IdempotencyOptions | false | undefined,
): IdempotencyOptions | false | undefined {
  if (own === undefined) return inherited;
  if (own === false || !inherited) return own;
  return { ttl: own.ttl ?? inherited.ttl, store: own.store ?? inherited.store };
}

/** Publishes `outcome`'s replies as replies to the duplicate `publisher` handles. */
async function replay(outcome: IdempotencyOutcome, publisher: Publisher): Promise<void> {
  if (publisher.event.correlationId === undefined) return;
  for (const reply of outcome.replies) {
    const init = reply.metadata === undefined ? {} : { metadata: reply.metadata };
    if (reply.type === "reply") await publisher.reply(reply.payload, init);
    else await publisher.replyError(reply.code, reply.message, init);
  }
}

/**
 * Throws unless `value` is a valid `idempotency` option (`undefined` and
 * `false` are).
 *
 * @param value The option as given.
 * @param where Prefixes the message, e.g. `Cannot run worker`.
 * @throws {TypeError} When it is not an object, `ttl` is not a number, or
 * `store` lacks a method.
 * @throws {RangeError} When `ttl` is not a finite number > 0.
 */
export function assertIdempotencyOptions(
  value: unknown,
  where: string,
): asserts value is IdempotencyOptions | false | undefined {
  if (value === undefined || value === false) return;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${where}: idempotency is ${JSON.stringify(value)}, expected { ttl?, store? } or false`,
    );
  }
  const { ttl, store } = value as Record<string, unknown>;
  if (ttl !== undefined && typeof ttl !== "number") {
    throw new TypeError(`${where}: idempotency.ttl is ${JSON.stringify(ttl)}, expected ms > 0`);
  }
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) {
    throw new RangeError(`${where}: idempotency.ttl is ${String(ttl)}, expected ms > 0`);
  }
  if (store === undefined) return;
  const methods = ["claim", "complete", "release", "settled"] as const;
  const missing = methods.filter((method) =>
    typeof (store as Record<string, unknown> | null)?.[method] !== "function"
  );
  if (missing.length > 0) {
    throw new TypeError(
      `${where}: idempotency.store lacks ${missing.join(", ")}, expected an IdempotencyStore`,
    );
  }
}
