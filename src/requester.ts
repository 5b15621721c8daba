/**
 * `Requester`: publish a request with a fresh correlation ID and await its
 * response, a response error, or a timeout; and scatter-gather over several
 * responders.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { RequesterClosedError } from "./errors.ts";
import { IDEMPOTENCY_KEY } from "./idempotency_store.ts";
import type { ListenPolicy } from "./listener.ts";
import {
  type GatherResult,
  type PendingCounts,
  type PendingEntry,
  PendingGather,
  type PendingOwner,
  PendingRequest,
} from "./pending.ts";
import { linkAbort, MAX_TIMER_DELAY } from "./async.ts";
import { unwatchAbort, watchAbort } from "./abort_watch.ts";
import { ListenerReadiness } from "./readiness.ts";
import { listenResponses } from "./response_listener.ts";
import { sendTraced } from "./tracing/send.ts";
import type { EventTransport, PublishOptions } from "./transport.ts";
import { assertSchema, type ResponseOf, type StandardSchema } from "./schema.ts";
import { type GatherResultOf, settleGathered, settleParsed } from "./response_schema.ts";

/** Options of {@linkcode Requester}. */
export interface RequesterOptions extends ListenPolicy {
  /** The (shared) transport, e.g. an `EventsClient`. */
  transport: EventTransport;
  /** Response names to listen to (broadcast), e.g. `bus.ssh.script.run.response`. */
  responseNames: readonly string[];
  /**
   * Default time to wait for a response, in ms: finite, above 0 and at most
   * 2,147,483,647 (about 24.8 days, the longest a timer waits), else the
   * constructor throws `RangeError`. @default {30000}
   */
  timeout?: number | undefined;
  /** Most requests pending at once; beyond it `request()` rejects at once. @default {10000} */
  maxPending?: number | undefined;
  /** `source` of published requests. */
  source?: string | undefined;
}

/**
 * Per-request options of {@linkcode Requester.request}.
 *
 * @typeParam S The `schema` option's type, which types the response.
 */
export interface RequestOptions<S extends StandardSchema | undefined = undefined> {
  /**
   * Overrides the requester's default timeout, in ms; the same bounds as
   * {@linkcode RequesterOptions.timeout}, else the call rejects with
   * `RangeError` before anything is published.
   */
  timeout?: number | undefined;
  /** Aborts the request (its publish too); it then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Metadata of the request envelope. */
  metadata?: Record<string, string> | undefined;
  /**
   * Sets `metadata.idempotencyKey`: workers of one group that already
   * handled this key answer with the first outcome instead of running the
   * handler again, so a request retried with the same key has its effect
   * once. A non-empty string.
   */
  idempotencyKey?: string | undefined;
  /**
   * A Standard Schema (zod, valibot, arktype, …) the response's payload must
   * match: `request()` then resolves with the schema's output and rejects
   * with {@linkcode InvalidResponseError} when it does not match; `gather()`
   * reports each mismatching response in `invalid`. An async schema is
   * awaited.
   */
  schema?: S;
}

/**
 * Options of {@linkcode Requester.gather}.
 *
 * @typeParam S The `schema` option's type, which types the responses.
 */
export interface GatherOptions<S extends StandardSchema | undefined = undefined>
  extends RequestOptions<S> {
  /** `source`s expected to answer; the gather completes early once all have. */
  expectedResponders?: readonly string[] | undefined;
  /**
   * Fewest answers that make a timed-out gather a success. With
   * `expectedResponders` it counts distinct expected responders that
   * answered (a repeat or an unexpected `source` does not count); without,
   * it counts responses.
   * `gather()` rejects with `RangeError`, before publishing, unless it is a
   * whole number >= 0 and, with `expectedResponders`, at most their count.
   * @default {expectedResponders.length (every one of them), or 1 without expected responders}
   */
  minResponses?: number | undefined;
}

/** Counters of a {@linkcode Requester}. */
export interface RequesterStats {
  /** Requests waiting for a response now. */
  readonly pending: number;
  /** Requests answered with a payload. */
  readonly answered: number;
  /** Requests answered with an error response. */
  readonly failed: number;
  /** Requests that timed out. */
  readonly timedOut: number;
  /**
   * Responses to this requester's own requests that came after the request
   * had settled (timed out, aborted, or answered already).
   */
  readonly late: number;
  /**
   * Responses whose correlation ID was never ours (another requester's),
   * or was no string at all: a stray envelope on a shared response name.
   */
  readonly unknown: number;
}

const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_MAX_PENDING = 10_000;
const logger = getLogger(["bus-integration", "requester"]);
/** The options of a `request()` given none, shared rather than one object per call. */
const NO_OPTIONS: RequestOptions = Object.freeze({});
/** A request's publish without a signal: nobody reads the request's own id. */
const DISCARD_ID: PublishOptions = Object.freeze({ discardId: true });

/**
 * Publishes requests and routes their responses back by correlation ID. The
 * response listener starts with the requester, and no request is published
 * before it is established, so a request cannot miss its own response.
 *
 * @example Request/reply against an echo worker
 * ```ts ignore
 * import { EventsClient, Requester } from "@bus/integration";
 *
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * const requester = new Requester({ transport: client, responseNames: ["example.echo.response"] });
 * try {
 *   const answer = await requester.request("example.echo.request", { text: "hi" }, { timeout: 5000 });
 *   console.log(answer);
 * } finally {
 *   await requester.close();
 * }
 * ```
 */
export class Requester {
  /** Ready while the response listener is established. */
  readonly readiness: ListenerReadiness;
  readonly #transport: EventTransport;
  readonly #timeout: number;
  readonly #maxPending: number;
  readonly #source: string | undefined;
  readonly #pending = new Map<string, PendingEntry>();
  readonly #counts: PendingCounts = { answered: 0, failed: 0, timedOut: 0 };
  readonly #owner: PendingOwner = {
    counts: this.#counts,
    forget: (entry) => this.#forget(entry),
  };
  /**
   * The first 9 characters of every correlation ID this requester makes (a
   * UUID's first 32 random bits and its dash): a response with an ID of
   * ours that nothing waits for is late, any other a stranger's. A
   * stranger's ID starts alike once in 4 billion. Remembering settled IDs
   * instead kept the last 4,096 (370 KiB of heap in a busy requester) for
   * two set operations a request, and knew no older one.
   */
  readonly #idPrefix = crypto.randomUUID().slice(0, 9);
  readonly #stop = new AbortController();
  readonly #listening: Promise<void>;
  readonly #unlinkSignal: () => void;
  #closedWith: unknown;
  #late = 0;
  #unknown = 0;

  /** Creates the requester and starts its response listener. */
  constructor(options: RequesterOptions) {
    if (options.responseNames.length === 0) {
      throw new TypeError("Cannot create requester: responseNames is empty");
    }
    options.responseNames.forEach(assertEventName);
    this.#transport = options.transport;
    this.#timeout = timeoutOf(options.timeout ?? DEFAULT_TIMEOUT);
    this.#maxPending = positive("maxPending", options.maxPending ?? DEFAULT_MAX_PENDING);
    this.#source = options.source;
    this.readiness = options.readiness ?? new ListenerReadiness();
    this.#unlinkSignal = linkAbort(options.signal, this.#stop);
    this.#stop.signal.addEventListener("abort", () => this.#rejectAll(closedError()), {
      once: true,
    });
    this.#listening = listenResponses({
      transport: options.transport,
      names: options.responseNames,
      onResponse: (event) => this.#dispatch(event),
      reconnect: options.reconnect,
      tokenRefresh: options.tokenRefresh,
      random: options.random,
      now: options.now,
      readiness: this.readiness,
      signal: this.#stop.signal,
    }).catch((error) => {
      logger.error("Response listener failed: {error}", { error });
      this.#closedWith = error;
      this.#rejectAll(error);
      this.#stop.abort(error);
    });
  }

  /**
   * Resolves once the response listener is up (as `readiness.waitReady()`
   * does); rejects with the failure that stopped it for good (an
   * `AuthError` for a refused response name, say), with
   * {@linkcode RequesterClosedError} once the requester is closed, and with
   * `signal.reason` when `signal` aborts first. Readiness alone never tells
   * a listener that will not come up from one that is still trying.
   *
   * @example Fail at start-up rather than at the first request
   * ```ts ignore
   * const requester = new Requester({ transport, responseNames: ["x.response"] });
   * await requester.waitReady(AbortSignal.timeout(10_000));
   * ```
   */
  waitReady(signal?: AbortSignal): Promise<void> {
    if (this.readiness.ready) return Promise.resolve();
    const stopped = this.#stop.signal;
    if (stopped.aborted) return Promise.reject(this.#closedWith ?? closedError());
    const wait = new AbortController();
    const unlinkStop = linkAbort(stopped, wait);
    const unlinkCaller = linkAbort(signal, wait);
    return this.readiness.waitReady(wait.signal).finally(() => {
      unlinkStop();
      unlinkCaller();
    });
  }

  /** Live counters. */
  get stats(): RequesterStats {
    return {
      pending: this.#pending.size,
      ...this.#counts,
      late: this.#late,
      unknown: this.#unknown,
    };
  }

  /**
   * Publishes `payload` as `name` with a fresh correlation ID and resolves
   * with the response's payload.
   *
   * @throws {ResponseError} when the response carries an `error`.
   * @throws {RequestTimeoutError} when no response came within the timeout
   * (including time spent waiting for the response listener).
   * @throws {RangeError} at once when `maxPending` requests are pending, or
   * `options.timeout` is not finite, above 0 and at most 2,147,483,647 ms.
   * @throws {RequesterClosedError} when the requester is closed (or closes meanwhile).
   * @throws {InvalidResponseError} when the payload does not match `options.schema`.
   * @throws {TypeError} at once when `options.schema` is not a Standard Schema.
   *
   * @example A typed request
   * ```ts
   * import type { Requester } from "@bus/integration";
   * import { z } from "zod";
   *
   * export async function add(requester: Requester, a: number, b: number): Promise<number> {
   *   const { sum } = await requester.request("example.add.request", { a, b }, {
   *     schema: z.object({ sum: z.number() }),
   *   });
   *   return sum;
   * }
   * ```
   */
  request<S extends StandardSchema | undefined = undefined>(
    name: string,
    payload: unknown,
    options?: RequestOptions<S>,
  ): Promise<ResponseOf<S>> {
    options ??= NO_OPTIONS as RequestOptions<S>;
    const { schema } = options;
    return this.#start(
      name,
      payload,
      options,
      (correlationId, timeout, resolve: (value: unknown) => void, reject) =>
        new PendingRequest(
          correlationId,
          timeout,
          this.#owner,
          schema === undefined
            ? resolve
            : (value) => settleParsed(schema, value, correlationId, resolve, reject),
          reject,
        ),
    ) as Promise<ResponseOf<S>>;
  }

  /**
   * Scatter-gather: publishes one request and collects every response with
   * its correlation ID. Resolves as soon as every expected responder (by
   * `source`) answered, or at the timeout once `minResponses` arrived;
   * otherwise rejects with {@linkcode GatherTimeoutError} naming the silent
   * responders. With `options.schema`, each success's payload is checked:
   * it resolves with {@linkcode TypedGatherResult}, whose `invalid` lists
   * the responses that did not match.
   */
  gather<S extends StandardSchema | undefined = undefined>(
    name: string,
    payload: unknown,
    options?: GatherOptions<S>,
  ): Promise<GatherResultOf<S>> {
    options ??= {};
    const expected = new Set(options.expectedResponders ?? []);
    const problem = gatherOptionsProblem(options, expected);
    if (problem !== undefined) return Promise.reject(problem);
    const minResponses = options.minResponses ?? Math.max(expected.size, 1);
    const { schema } = options;
    return this.#start(
      name,
      payload,
      options,
      (correlationId, timeout, resolve: (value: GatherResult) => void, reject) =>
        new PendingGather(
          correlationId,
          timeout,
          this.#owner,
          expected,
          minResponses,
          schema === undefined
            ? resolve
            : (value) => settleGathered(schema, value, correlationId, resolve, reject),
          reject,
        ),
    ) as Promise<GatherResultOf<S>>;
  }

  /**
   * Stops the response listener and rejects every pending request with a
   * {@linkcode RequesterClosedError}. Idempotent.
   */
  async close(): Promise<void> {
    this.#stop.abort(closedError());
    this.#unlinkSignal();
    await this.#listening;
  }

  /** Closes the requester at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start<T>(
    name: string,
    payload: unknown,
    options: RequestOptions<StandardSchema | undefined>,
    makeEntry: (
      correlationId: string,
      timeout: number,
      resolve: (value: T) => void,
      reject: (error: unknown) => void,
    ) => PendingEntry,
  ): Promise<T> {
    try {
      assertEventName(name);
      if (this.#stop.signal.aborted) throw this.#closedWith ?? closedError();
      if (this.#pending.size >= this.#maxPending) {
        throw new RangeError(
          `Cannot send request: ${this.#pending.size} requests are pending, the maxPending limit`,
        );
      }
      if (options.signal?.aborted) throw options.signal.reason;
      if (options.timeout !== undefined) timeoutOf(options.timeout);
      assertSchema(options.schema, "Cannot send request: schema");
      if (
        options.idempotencyKey !== undefined &&
        (typeof options.idempotencyKey !== "string" || options.idempotencyKey === "")
      ) {
        throw new TypeError(
          `Cannot send request: idempotencyKey is ${
            JSON.stringify(options.idempotencyKey)
          }, expected a non-empty string`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // Still a UUID (version 4), with 90 random bits of its own.
    const correlationId = this.#idPrefix + crypto.randomUUID().slice(9);
    let entry!: PendingEntry;
    const settled = new Promise<T>((resolve, reject) => {
      entry = makeEntry(correlationId, options.timeout ?? this.#timeout, resolve, reject);
    });
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => entry.fail(signal.reason);
      watchAbort(signal, onAbort);
      entry.unlink = () => unwatchAbort(signal, onAbort);
    }
    this.#pending.set(correlationId, entry);
    entry.start();
    this.#publish(entry, name, payload, options).catch((error) => {
      if (this.#pending.get(correlationId) === entry) entry.fail(error);
    });
    return settled;
  }

  async #publish(
    entry: PendingEntry,
    name: string,
    payload: unknown,
    options: RequestOptions<StandardSchema | undefined>,
  ) {
    // Never publish before the response listener is up, or the response may
    // pass by unseen. The wait ends with the request (timeout or abort).
    if (!this.readiness.ready) await this.#waitReady(entry);
    if (this.#pending.get(entry.correlationId) !== entry) return;
    await sendTraced(this.#transport, {
      name,
      correlationId: entry.correlationId,
      payload,
      source: this.#source,
      metadata: options.idempotencyKey === undefined
        ? options.metadata
        : { ...options.metadata, [IDEMPOTENCY_KEY]: options.idempotencyKey },
    }, options.signal === undefined ? DISCARD_ID : { signal: options.signal, discardId: true });
  }

  /** Waits for readiness until `entry` settles, whichever is first. */
  async #waitReady(entry: PendingEntry): Promise<void> {
    const settled = new AbortController();
    const unlinkBefore = entry.unlink;
    entry.unlink = () => {
      unlinkBefore?.();
      settled.abort();
    };
    await this.readiness.waitReady(settled.signal).catch(() => {});
  }

  /**
   * Routes one response to its entry. It never throws: the response
   * listener treats a throw as fatal, and one bad envelope on a shared
   * broadcast name (anyone may publish there) must not end every request
   * of every requester listening to it.
   */
  #dispatch(event: EventEnvelope): void {
    // The wire may carry any JSON here, whatever the envelope's type says.
    const correlationId: unknown = event.correlationId;
    const entry = typeof correlationId === "string" ? this.#pending.get(correlationId) : undefined;
    if (entry === undefined) {
      if (typeof correlationId === "string" && correlationId.startsWith(this.#idPrefix)) {
        this.#late++;
      } else {
        this.#unknown++;
      }
      return;
    }
    try {
      entry.accept(event);
    } catch (error) {
      this.#failUnreadable(entry, error);
    }
  }

  /** Fails only `entry`, whose response could not be taken, and says why. */
  #failUnreadable(entry: PendingEntry, error: unknown): void {
    this.#counts.failed++;
    logger.warn("Response to {correlationId} could not be taken: {error}", {
      correlationId: entry.correlationId,
      error,
    });
    if (this.#pending.get(entry.correlationId) === entry) entry.fail(error);
  }

  #forget(entry: PendingEntry): void {
    if (this.#pending.get(entry.correlationId) !== entry) return;
    this.#pending.delete(entry.correlationId);
  }

  #rejectAll(error: unknown): void {
    for (const entry of [...this.#pending.values()]) entry.fail(error);
  }
}

/**
 * What is wrong with a gather's responder options, before anything is
 * published: a `minResponses` the gather could never meet would only
 * surface as a timeout, its whole length later.
 */
function gatherOptionsProblem(
  options: GatherOptions<StandardSchema | undefined>,
  expected: ReadonlySet<unknown>,
): Error | undefined {
  for (const responder of expected) {
    if (typeof responder !== "string") {
      return new TypeError(
        `Cannot gather: expectedResponders holds ${
          JSON.stringify(responder) ?? String(responder)
        }, expected source strings`,
      );
    }
  }
  const min: unknown = options.minResponses;
  if (min === undefined) return undefined;
  const shown = typeof min === "number" ? String(min) : JSON.stringify(min) ?? String(min);
  if (typeof min !== "number" || !Number.isInteger(min) || min < 0) {
    return new RangeError(
      `Cannot gather: minResponses is ${shown}, expected a whole number >= 0`,
    );
  }
  if (expected.size > 0 && min > expected.size) {
    return new RangeError(
      `Cannot gather: minResponses is ${shown}, more than the ${expected.size} distinct ` +
        "expectedResponders who can count towards it",
    );
  }
  return undefined;
}

function closedError(): RequesterClosedError {
  return new RequesterClosedError();
}

/**
 * `value` as a request timeout: a timer cannot wait longer than
 * {@linkcode MAX_TIMER_DELAY} (a longer one fires at once), and `Infinity`
 * would be such a wait, so "never time out" is not a timeout.
 */
function timeoutOf(value: unknown): number {
  if (typeof value === "number" && value > 0 && value <= MAX_TIMER_DELAY) return value;
  const shown = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
  throw new RangeError(
    `Cannot use timeout: current value is ${shown}, expected > 0 and <= ${MAX_TIMER_DELAY} ms`,
  );
}

function positive(option: string, value: number): number {
  if (!(value > 0)) {
    throw new RangeError(`Cannot use ${option}: current value is ${value}, expected > 0`);
  }
  return value;
}
