/**
 * `WorkerRegistration`: what an integration module exports — a listener
 * with a handler, or a `run(context)` function for anything else — plus
 * `defineWorker()` to type and check one, and `runRegistration()` to run one
 * on its own (a `Host` runs many the same way).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { type EventEnvelope, eventNameProblem } from "./envelope.ts";
import { describeError } from "./errors.ts";
import type { ProcessMetrics } from "./handling/metrics.ts";
import { WorkerStats } from "./handling/stats.ts";
import type { HandlerMiddleware } from "./handling/compose.ts";
import {
  assertIdempotencyOptions,
  type IdempotencyOptions,
  inheritIdempotency,
} from "./handling/idempotency.ts";
import { assertOrderingKey } from "./keyed_queue.ts";
import { assertLossyOptions, type LossyOptions } from "./lossy.ts";
import { assertDeadLetterOptions, type DeadLetterOptions } from "./handling/dead_letter.ts";
import { resolveRetryPolicy, type RetryOptions } from "./handling/retry_policy.ts";
import type { ListenPolicy } from "./listener.ts";
import { ListenerReadiness } from "./readiness.ts";
import type { Delivery, EventTransport } from "./transport.ts";
import {
  assertTracingOption,
  runWorker,
  type WorkerHandler,
  type WorkerOptions,
} from "./worker.ts";
import { assertHandlerTimeout } from "./handling/handler_timeout.ts";
import type { Secrets } from "./secrets.ts";
import { assertEventSchemas, type EventSchemas, type PayloadOf, type ReplyOf } from "./schema.ts";

/** Fields every registration has. */
export interface RegistrationBase {
  /**
   * Unique within a host; names the registration in logs, health reports
   * and errors. Letters, digits, `.`, `_`, `~` and `-`, at most 128.
   */
  name: string;
  /**
   * Whether the host is ready only while this registration is.
   *
   * @default {true}
   */
  required?: boolean | undefined;
  /**
   * Longest wait for in-flight work after the host stops, in ms; overrides
   * the host's. A `run()` registration that has not returned by then is
   * reported as failed.
   *
   * @default {30000}
   */
  drainTimeout?: number | undefined;
}

/**
 * A registration that listens to event names and hands each event to `handler`.
 *
 * @typeParam S The `schema` option's type, which types the handler.
 */
export interface ListenerRegistration<S extends EventSchemas = EventSchemas>
  extends RegistrationBase, Pick<ListenPolicy, "reconnect" | "tokenRefresh"> {
  /** Event names to listen to; one stream per name. */
  names: readonly string[];
  /** How the streams share events with other workers. @default {"broadcast"} */
  delivery?: Delivery | undefined;
  /**
   * Unicast group; workers in one group share the events.
   *
   * @default {name, for unicast delivery}
   */
  group?: string | undefined;
  /** Stable consumer name within the group. */
  consumer?: string | undefined;
  /**
   * `source` of the events the handler publishes.
   *
   * @default {consumer ?? group ?? name}
   */
  source?: string | undefined;
  /** Most handlers running at once. @default {1} */
  concurrency?: number | undefined;
  /**
   * Standard Schemas for the payload and the replies, which type and check
   * `event.payload` and `publisher.reply()` (see `runWorker`).
   */
  schema?: S | undefined;
  /** Handles one event; throwing answers the requester with an error response. */
  handler: WorkerHandler<PayloadOf<S>, ReplyOf<S>>;
  /** The `process` span of each event (see `runWorker`'s `tracing`). */
  tracing?: { producer?: "link" | "parent" | undefined } | false | undefined;
  /** Middlewares around the handler, outermost first (see `runWorker`). */
  middlewares?: readonly HandlerMiddleware[] | undefined;
  /**
   * Idempotency keys (see `runWorker`); overrides the host's.
   *
   * @default {on, with the host's store}
   */
  idempotency?: IdempotencyOptions | false | undefined;
  /** Events with the same key run one at a time, in arrival order (see `runWorker`). */
  orderingKey?: ((event: EventEnvelope) => string | undefined) | undefined;
  /** Drop what does not fit a buffer instead of slowing the stream (see `runWorker`). */
  lossy?: LossyOptions | false | undefined;
  /**
   * The handler retry policy (see `runWorker`); replaces the host's whole.
   *
   * @default {the host's, else { attempts: 1 }}
   */
  retry?: RetryOptions | undefined;
  /** Dead letters (see `runWorker`), or `false` for none. @default {{}: on} */
  deadLetter?: DeadLetterOptions | false | undefined;
  /**
   * The longest one attempt may take, in ms (see `runWorker`); overrides
   * the host's.
   *
   * @default {the host's, else no bound}
   */
  handlerTimeout?: number | undefined;
  /** Not allowed together with `handler`. */
  run?: never;
}

/**
 * The logger a `run()` registration gets: LogTape's `Logger` for the
 * category `["bus-integration", "host", name]`, typed by the methods
 * integrations use. `getLogger()` with the same category returns the same
 * logger with LogTape's full type.
 */
export interface WorkerLogger {
  /** The category, e.g. `["bus-integration", "host", "echo"]`. */
  readonly category: readonly string[];
  /** Logs at trace level; `{name}` placeholders read from `properties`. */
  trace(message: string, properties?: Record<string, unknown>): void;
  /** Logs at debug level. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Logs at info level. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs at warning level. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs at error level. */
  error(message: string, properties?: Record<string, unknown>): void;
  /** Logs at fatal level. */
  fatal(message: string, properties?: Record<string, unknown>): void;
  /** A logger that adds `properties` to every record. */
  with(properties: Record<string, unknown>): WorkerLogger;
}

/** What a `run()` registration receives. */
export interface WorkerContext {
  /** The shared transport, e.g. an `EventsClient`. */
  readonly transport: EventTransport;
  /** LogTape's logger with the category `["bus-integration", "host", name]`. */
  readonly logger: WorkerLogger;
  /** Aborts when the registration should stop; `run()` should then return. */
  readonly signal: AbortSignal;
  /**
   * This registration's readiness. A required `run()` registration must set
   * it (or pass it to `runWorker()` / `listen()`), or the host never gets ready.
   */
  readonly readiness: ListenerReadiness;
  /** Counters shown in health reports; pass them to `runWorker()` to fill them. */
  readonly stats: WorkerStats;
}

/** A registration that runs arbitrary code until its signal aborts. */
export interface RunRegistration extends RegistrationBase {
  /**
   * Runs until `context.signal` aborts, then returns. Throwing (or
   * rejecting) is a fatal failure of the registration; returning early ends
   * only this registration.
   */
  run(context: WorkerContext): void | Promise<void>;
  /** Not allowed together with `run`. */
  handler?: never;
  /** Not allowed together with `run`: a schema types a handler. */
  schema?: never;
}

/** What an integration module exports: a listener with a handler, or a `run()` function. */
export type WorkerRegistration = ListenerRegistration | RunRegistration;

const REGISTRATION_NAME = /^[A-Za-z0-9._~-]{1,128}$/;
const DELIVERIES: readonly string[] = ["broadcast", "unicast"];
/** The string fields of a listener registration that name its group, consumer and source. */
const NAMING_FIELDS = ["group", "consumer", "source"] as const;

/**
 * Returns `registration` unchanged after checking its shape, so an
 * integration module gets type inference for its handler (or `run`) and
 * fails on import, not at the first event.
 *
 * With a `schema`, the handler's `event.payload` is the payload schema's
 * output type and `publisher.reply()` takes the reply schema's input type,
 * inferred with no annotations.
 *
 * @typeParam S The `schema` option's type.
 * @param registration The registration to check.
 * @returns The same object.
 * @throws {TypeError} When a field has the wrong type, the name is not
 * URL-safe, `handler` and `run` are both given (or neither), or an event
 * name is invalid, or `schema.payload` / `schema.reply` is not a Standard
 * Schema (or `schema` is given with `run`).
 * @throws {RangeError} When `concurrency`, `drainTimeout`, `idempotency.ttl` or
 * `lossy.buffer` is out of range.
 * @throws {RangeError} When a `retry` number is out of range (`attempts: 0`,
 * a negative delay, `maxDelay` below `delay`, `jitter` outside [0, 1]).
 *
 * @example An echo worker module
 * ```ts ignore
 * import { defineWorker } from "@bus/integration";
 *
 * export default defineWorker({
 *   name: "echo",
 *   names: ["example.echo.request"],
 *   delivery: "unicast",
 *   concurrency: 8,
 *   handler: async (event, publisher) => {
 *     await publisher.reply({ echo: event.payload });
 *   },
 * });
 * ```
 *
 * @example A typed worker: zod checks the payload and the reply
 * ```ts
 * import { defineWorker } from "@bus/integration";
 * import { z } from "zod";
 *
 * export default defineWorker({
 *   name: "adder",
 *   names: ["example.add.request"],
 *   delivery: "unicast",
 *   schema: {
 *     payload: z.object({ a: z.number(), b: z.number() }),
 *     reply: z.object({ sum: z.number() }),
 *   },
 *   // event.payload is { a: number; b: number }; reply() takes { sum: number }.
 *   handler: (event, publisher) => publisher.reply({ sum: event.payload.a + event.payload.b }),
 * });
 * ```
 *
 * @example A registration that runs its own loop
 * ```ts ignore
 * import { defineWorker } from "@bus/integration";
 *
 * export default defineWorker({
 *   name: "ticker",
 *   required: false,
 *   run: async ({ transport, signal, logger }) => {
 *     while (!signal.aborted) {
 *       await transport.publish({ name: "example.tick", payload: Date.now() });
 *       await new Promise((resolve) => setTimeout(resolve, 1000));
 *     }
 *     logger.info("ticker stopped");
 *   },
 * });
 * ```
 */
export function defineWorker<S extends EventSchemas = EventSchemas>(
  registration: ListenerRegistration<S>,
): ListenerRegistration<S>;
/** A `run()` registration, returned as it was given. */
export function defineWorker<R extends RunRegistration>(registration: R): R;
/** A registration of either kind, e.g. one typed {@linkcode WorkerRegistration}. */
export function defineWorker<R extends WorkerRegistration>(registration: R): R;
export function defineWorker(registration: WorkerRegistration): WorkerRegistration {
  assertRegistration(registration);
  return registration;
}

/**
 * Throws unless `value` is a well-formed {@linkcode WorkerRegistration};
 * `where` prefixes the message (e.g. the module it came from).
 */
export function assertRegistration(
  value: unknown,
  where?: string,
): asserts value is WorkerRegistration {
  // No closures, literals or prefix strings made when nothing is wrong: a
  // host checks each of its registrations, and the garbage of a check (about
  // 0.3 KiB) stays as holes in a non-moving GC's heap (Bun's).
  where ??= "registration";
  if (typeof value !== "object" || value === null) {
    throw misfit(where, `expected an object, got ${value === null ? "null" : typeof value}`);
  }
  const reg = value as Record<string, unknown>;
  if (typeof reg.name !== "string" || !REGISTRATION_NAME.test(reg.name)) {
    throw misfit(
      where,
      `name is ${JSON.stringify(reg.name)}, expected 1-128 letters, digits, '.', '_', '~' or '-'`,
    );
  }
  const hasHandler = reg.handler !== undefined;
  const hasRun = reg.run !== undefined;
  if (hasHandler === hasRun) {
    throw misnamed(
      where,
      reg.name,
      hasHandler ? "give handler or run, not both" : "expected a handler or a run function",
    );
  }
  if (hasRun && typeof reg.run !== "function") {
    throw misnamed(where, reg.name, "run is not a function");
  }
  if (hasRun && reg.schema !== undefined) {
    throw misnamed(where, reg.name, "schema needs a handler, not run");
  }
  if (reg.required !== undefined && typeof reg.required !== "boolean") {
    throw misnamed(
      where,
      reg.name,
      `required is ${JSON.stringify(reg.required)}, expected true or false`,
    );
  }
  if (reg.drainTimeout !== undefined && !isNonNegative(reg.drainTimeout)) {
    throw new RangeError(
      `Cannot use ${where} "${reg.name}": drainTimeout is ${
        String(reg.drainTimeout)
      }, expected a number of ms >= 0`,
    );
  }
  if (hasRun) return;
  if (typeof reg.handler !== "function") {
    throw misnamed(where, reg.name, "handler is not a function");
  }
  if (!Array.isArray(reg.names) || reg.names.length === 0) {
    throw misnamed(where, reg.name, "names must be a non-empty array of event names");
  }
  // By index: an array iterator and its results were garbage of every check.
  for (let index = 0; index < reg.names.length; index++) {
    const name: unknown = reg.names[index];
    const problem = eventNameProblem(name);
    if (problem !== undefined) {
      throw misnamed(where, reg.name, `event name ${JSON.stringify(name)}: ${problem}`);
    }
  }
  if (reg.delivery !== undefined && !DELIVERIES.includes(reg.delivery as string)) {
    throw misnamed(
      where,
      reg.name,
      `delivery is ${JSON.stringify(reg.delivery)}, expected broadcast or unicast`,
    );
  }
  for (const field of NAMING_FIELDS) {
    if (reg[field] !== undefined && typeof reg[field] !== "string") {
      throw misnamed(where, reg.name, `${field} is not a string`);
    }
  }
  if (
    reg.concurrency !== undefined &&
    !(Number.isInteger(reg.concurrency) && (reg.concurrency as number) >= 1)
  ) {
    throw new RangeError(
      `Cannot use ${where} "${reg.name}": concurrency is ${
        String(reg.concurrency)
      }, expected an integer >= 1`,
    );
  }
  if (
    reg.idempotency === undefined && reg.orderingKey === undefined && reg.lossy === undefined &&
    reg.retry === undefined && reg.deadLetter === undefined && reg.schema === undefined &&
    reg.handlerTimeout === undefined && reg.tracing === undefined
  ) {
    return; // Each check below passes `undefined` (every one of them is optional).
  }
  const prefix = `Cannot use ${where} "${reg.name}"`;
  assertIdempotencyOptions(reg.idempotency, prefix);
  assertOrderingKey(reg.orderingKey, prefix);
  assertLossyOptions(reg.lossy, prefix);
  resolveRetryPolicy(reg.retry as RetryOptions | undefined, prefix);
  assertDeadLetterOptions(reg.deadLetter, prefix);
  assertEventSchemas(reg.schema, prefix);
  assertHandlerTimeout(reg.handlerTimeout, prefix);
  assertTracingOption(reg.tracing, prefix);
}

/** The `TypeError` of a registration check: `Cannot use <where>: <problem>`. */
function misfit(where: string, problem: string): TypeError {
  return new TypeError(`Cannot use ${where}: ${problem}`);
}

/** {@linkcode misfit} of the registration named `name`: `Cannot use <where> "<name>": <problem>`. */
function misnamed(where: string, name: unknown, problem: string): TypeError {
  return misfit(`${where} "${name}"`, problem);
}

function isNonNegative(value: unknown): boolean {
  return typeof value === "number" && value >= 0 && !Number.isNaN(value);
}

/** Options of {@linkcode runRegistration}. */
export interface RunRegistrationOptions extends ListenPolicy {
  /**
   * The transport to publish and stream with. The registration's own
   * `reconnect` and `tokenRefresh` override the policy given here;
   * `signal` stops it (listeners drain, `run()` is asked to return).
   */
  transport: EventTransport;
  /** Counters to update. */
  stats?: WorkerStats | undefined;
  /** Per-event-name process metrics to update (a `Host` passes one per registration). */
  metrics?: ProcessMetrics | undefined;
  /** Drain timeout for registrations that set none, in ms. @default {30000} */
  drainTimeout?: number | undefined;
  /** Idempotency for registrations that set none (see `runWorker`). @default {on, with a store of its own} */
  idempotency?: IdempotencyOptions | false | undefined;
  /** The retry policy of registrations that set none. @default {{ attempts: 1 }} */
  retry?: RetryOptions | undefined;
  /** The handler timeout of registrations that set none, in ms. @default {no bound} */
  handlerTimeout?: number | undefined;
  /**
   * Secrets removed from the error texts the registration's worker
   * publishes and exports (see `runWorker`); a `Host` passes its own.
   */
  secrets?: Secrets | undefined;
}

/** The logger category of a registration's context. */
export function registrationCategory(name: string): readonly string[] {
  return ["bus-integration", "host", name];
}

/**
 * Runs one registration on its own, exactly as a `Host` runs it: a handler
 * registration becomes a {@linkcode runWorker} loop; a `run()` registration
 * gets its {@linkcode WorkerContext}. Resolves when it stopped after
 * `signal` aborted (or ended by itself); rejects with its fatal error.
 *
 * @param registration The registration (checked like {@linkcode defineWorker}).
 * @param options The transport, signal and defaults.
 *
 * @example Run the echo module's registration without a host
 * ```ts ignore
 * import { clientOptionsFromEnv, EventsClient, runRegistration } from "@bus/integration";
 * import echo from "./echo_worker.ts";
 *
 * const { baseUrl, token } = await clientOptionsFromEnv();
 * const controller = new AbortController();
 * await runRegistration(echo, {
 *   transport: new EventsClient({ baseUrl, token }),
 *   signal: controller.signal,
 * });
 * ```
 */
export function runRegistration(
  registration: WorkerRegistration,
  options: RunRegistrationOptions,
): Promise<void> {
  try {
    assertRegistration(registration);
  } catch (error) {
    return Promise.reject(error);
  }
  return runCheckedRegistration(registration, options);
}

/**
 * {@linkcode runRegistration} for a registration checked already (a
 * `Host` checks each in its constructor): checking it again would make
 * its garbage (about 1 KiB) once more per registration. Not part of the
 * public API.
 */
export function runCheckedRegistration(
  registration: WorkerRegistration,
  options: RunRegistrationOptions,
): Promise<void> {
  // Not an async function: a handler registration is its worker's promise,
  // with no suspended frame of its own (a host holds a thousand of them).
  if (registration.run !== undefined) return runOwnLoop(registration, options);
  return runListener(registration, options);
}

/** A `run()` registration: its context, then its outcome on its readiness and stats. */
async function runOwnLoop(
  registration: RunRegistration,
  options: RunRegistrationOptions,
): Promise<void> {
  const readiness = options.readiness ?? new ListenerReadiness();
  const stats = options.stats ?? new WorkerStats();
  try {
    await registration.run({
      transport: options.transport,
      logger: getLogger(registrationCategory(registration.name)),
      signal: options.signal ?? new AbortController().signal,
      readiness,
      stats,
    });
  } catch (error) {
    stats.lastError = describeError(error);
    readiness.set(false, "failed");
    throw error;
  }
  readiness.set(false, "stopped");
}

/**
 * A handler registration: a {@linkcode runWorker} loop with the
 * registration's settings. The worker keeps its options object for its
 * life, so it gets only the settings that are given: a literal with every
 * field, most of them `undefined`, held about 380 B per registration of a
 * host, this about 150.
 */
function runListener(
  reg: ListenerRegistration,
  options: RunRegistrationOptions,
): Promise<void> {
  const delivery = reg.delivery ?? "broadcast";
  const group = reg.group ?? (delivery === "unicast" ? reg.name : undefined);
  const worker: WorkerOptions = {
    transport: options.transport,
    names: reg.names,
    delivery,
    source: reg.source ?? reg.consumer ?? group ?? reg.name,
    handler: reg.handler,
    readiness: options.readiness ?? new ListenerReadiness(),
    stats: options.stats ?? new WorkerStats(),
    signal: options.signal ?? new AbortController().signal,
  };
  return runWorker(withDefined(worker, {
    group,
    consumer: reg.consumer,
    schema: reg.schema,
    middlewares: reg.middlewares,
    concurrency: reg.concurrency,
    idempotency: inheritIdempotency(reg.idempotency, options.idempotency),
    orderingKey: reg.orderingKey,
    lossy: reg.lossy,
    retry: reg.retry ?? options.retry,
    handlerTimeout: reg.handlerTimeout ?? options.handlerTimeout,
    secrets: options.secrets,
    deadLetter: reg.deadLetter,
    tracing: reg.tracing,
    metrics: options.metrics,
    reconnect: reg.reconnect !== undefined ? reg.reconnect : options.reconnect,
    tokenRefresh: reg.tokenRefresh ?? options.tokenRefresh,
    drainTimeout: reg.drainTimeout ?? options.drainTimeout,
    random: options.random,
    now: options.now,
  }));
}

/**
 * Adds the entries of `optional` that are not `undefined` to `target`, in
 * their order (so that targets with the same entries share one shape).
 */
function withDefined<T extends object>(target: T, optional: Partial<T>): T {
  for (const key in optional) {
    const value = optional[key];
    if (value !== undefined) target[key] = value as T[typeof key];
  }
  return target;
}
