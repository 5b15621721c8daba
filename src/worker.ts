/**
 * `runWorker()`: the loop every Bus integration worker runs — streams to a
 * handler, at most `concurrency` at a time, with replies through a
 * `Publisher`, reconnects on failure and a graceful drain on abort.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { InvalidInput, InvalidInputHandler } from "./decode/types.ts";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { describeError } from "./errors.ts";
import { compose, type HandlerMiddleware, type Pipeline } from "./handling/compose.ts";
import type { PipelineStep } from "./handling/outcome_step.ts";
import { measureProcessing, type ProcessMetrics } from "./handling/metrics.ts";
import { traceProcessing } from "./handling/tracing.ts";
import { telemetryLive } from "./tracing/live.ts";
import { systemOf } from "./tracing/conventions.ts";
import { endAttempt, type WorkerContext } from "./handling/context.ts";
import { replyOnFailureWith } from "./handling/error_reply.ts";
import { type Redact, redactorOf, type Secrets } from "./secrets.ts";
import {
  assertIdempotencyOptions,
  idempotencyKeyOf,
  type IdempotencyOptions,
  idempotencySteps,
} from "./handling/idempotency.ts";
import { assertOrderingKey, KeyedQueue, orderingKeyOf } from "./keyed_queue.ts";
import { assertLossyOptions, type LossyOptions, reportDrop } from "./lossy.ts";
import { logFailuresOf } from "./handling/log_failures.ts";
import { type EventLog, eventLog } from "./handling/log_events.ts";
import { countOutcomes, WorkerStats } from "./handling/stats.ts";
import {
  assertDeadLetterOptions,
  deadLetter,
  type DeadLetterOptions,
} from "./handling/dead_letter.ts";
import { retry } from "./handling/retry.ts";
import { assertHandlerTimeout, handlerTimeout } from "./handling/handler_timeout.ts";
import {
  resolveRetryPolicy,
  type RetryOptions,
  type RetryPolicy,
} from "./handling/retry_policy.ts";
import {
  type EventSettler,
  listenAll,
  type ListenAllOptions,
  type ListenEventContext,
  type ListenPolicy,
  type ListenStreamOptions,
} from "./listener.ts";
import type { ListenerReadiness } from "./readiness.ts";
import type { ReconnectOptions } from "./reconnect.ts";
import { EventPublisher, type Publisher } from "./publisher.ts";
import { delay, RESOLVED, settlesWithin, timerDelay } from "./async.ts";
import { Slots } from "./slots.ts";
import { QueuedHeartbeat } from "./queued_heartbeat.ts";
import {
  assertEventSchemas,
  type EventSchemas,
  type PayloadOf,
  type ReplyOf,
  type TypedEnvelope,
} from "./schema.ts";
import { validatedHandler } from "./handling/validate.ts";
import type { Delivery, EventTransport, Settlement } from "./transport.ts";

/**
 * Handles one event; throwing answers the requester with an error response.
 *
 * @typeParam Payload The type of `event.payload`: the payload schema's
 * output, `unknown` without a schema.
 * @typeParam Reply What `publisher.reply()` takes: the reply schema's
 * input, `unknown` without one.
 */
export type WorkerHandler<Payload = unknown, Reply = unknown> = (
  event: TypedEnvelope<Payload>,
  publisher: Publisher<Reply>,
) => unknown;

/**
 * Options of {@linkcode runWorker}.
 *
 * @typeParam S The `schema` option's type, which types the handler.
 */
export interface WorkerOptions<S extends EventSchemas = EventSchemas> extends ListenPolicy {
  /** The (shared) transport, e.g. an `EventsClient`. */
  transport: EventTransport;
  /** Event names to listen to; one stream per name. */
  names: readonly string[];
  /** `unicast` shares the events between the workers of `group`. @default {"broadcast"} */
  delivery?: Delivery | undefined;
  /** Unicast group; workers in one group share the events. */
  group?: string | undefined;
  /** Stable consumer name within the group; also the default `source`. */
  consumer?: string | undefined;
  /** Start with the retained history of each name (broadcast replay). @default {false} */
  replay?: boolean | undefined;
  /** `source` of published events. @default {consumer ?? group} */
  source?: string | undefined;
  /**
   * Standard Schemas (zod, valibot, arktype, …) for the payload and the
   * replies: `event.payload` is typed and checked (a mismatch is answered
   * `invalid_payload`, dead-lettered, never retried), `publisher.reply()`
   * is typed and checked (a mismatch is answered `invalid_reply`). The
   * check runs after `middlewares`, right before the handler.
   */
  schema?: S | undefined;
  /** The handler. */
  handler: WorkerHandler<PayloadOf<S>, ReplyOf<S>>;
  /**
   * Middlewares run around the handler, outermost first, inside the
   * worker's own (counting, failure logging, the error response, dead
   * letters and the retry policy), so each attempt runs them again.
   */
  middlewares?: readonly HandlerMiddleware[] | undefined;
  /**
   * The handler retry policy. A failed attempt is retried after a wait:
   * over a transport that redelivers (JetStream) by settling it `retry`,
   * otherwise in process, holding the event's slot. The jitter draws from
   * `random`.
   *
   * @default {{ attempts: 1 }: never retried}
   */
  retry?: RetryOptions | undefined;
  /**
   * Where an event that failed for good goes: an event named
   * `<event name>.dead-letter` (or `name`) carrying it whole, with the error
   * and the attempts. `false` drops it (the requester still gets its error
   * response).
   *
   * @default {{}: on, named after each event}
   */
  deadLetter?: DeadLetterOptions | false | undefined;
  /** Most handlers running at once. @default {1} */
  concurrency?: number | undefined;
  /**
   * Secrets (the API token, a NATS password) removed from the error texts
   * the worker publishes and exports: error responses, dead letters, the
   * `process` span's status. A handler's error may quote a request, headers
   * and all. A function is asked each time, so a rotated token is covered.
   * A `Host` passes its own `secrets`.
   *
   * @default {none}
   */
  secrets?: Secrets | undefined;
  /**
   * The longest one attempt may take, in ms (a whole number from 1 to
   * 2^31 − 1): then the handler's signal (`publisher.signal`) aborts, and
   * what it throws fails the attempt as `HandlerTimeoutError` (code
   * `handler_timeout`), retried per `retry`. The publisher's publishes
   * carry that signal, so a reply stuck on a server that never answers ends
   * too. A handler that ignores its signal keeps its slot until it returns
   * (and succeeds if it does): `concurrency` stays a true bound. It covers
   * the caller's middlewares and the handler, not idempotency or retry
   * waits.
   *
   * @default {no bound}
   */
  handlerTimeout?: number | undefined;
  /** Longest wait for in-flight handlers after abort, in ms. @default {30000} */
  drainTimeout?: number | undefined;
  /** Called for each malformed line or event that was skipped. */
  onInvalid?: InvalidInputHandler | undefined;
  /** Counters to update; pass one to observe the worker. */
  stats?: WorkerStats | undefined;
  /** Per-event-name process metrics to update (a `Host` serves them as `/metrics`). */
  metrics?: ProcessMetrics | undefined;
  /**
   * The `process` span around each event (through `@opentelemetry/api`; a
   * no-op until the application installs an SDK): whether it links to the
   * producer's span (the messaging conventions' default) or continues its
   * trace, or `false` for no span.
   *
   * @default {{ producer: "link" }}
   */
  tracing?: { producer?: "link" | "parent" | undefined } | false | undefined;
  /**
   * Idempotency keys (`metadata.idempotencyKey`): a key this worker's group
   * handled within `ttl` does not run the handler again; the duplicate gets
   * the first outcome's replies under its own `correlationId`. `false`
   * runs every event.
   *
   * @default {{ ttl: 600000, store: new MemoryIdempotencyStore() }}
   */
  idempotency?: IdempotencyOptions | false | undefined;
  /**
   * Events with the same key are handled one at a time, in arrival order;
   * other keys (and events without one) run beside them under
   * `concurrency`. At most 64 × `concurrency` events wait behind busy keys;
   * past that the stream is not read until one starts.
   */
  orderingKey?: ((event: EventEnvelope) => string | undefined) | undefined;
  /**
   * Drop instead of slowing the stream: events that find every handler busy
   * wait in a buffer of `buffer` events, and one that finds the buffer full
   * is dropped (settled `done`, counted in `stats.dropped`, reported to
   * `onDrop`). Leave it unset for critical listeners, which keep
   * backpressure and never drop.
   */
  lossy?: LossyOptions | false | undefined;
}

/** Events that may wait behind busy ordering keys, per slot of `concurrency`. */
export const ORDERING_BACKLOG_PER_SLOT = 64;

/** The drain timeout of workers, registrations and hosts that set none, in ms. */
export const DEFAULT_DRAIN_TIMEOUT = 30_000;
const DONE: Settlement = Object.freeze({ type: "done" });
const logger = getLogger(["bus-integration", "worker"]);

/**
 * Runs a worker until `signal` aborts (then drains and resolves) or a listener
 * fails fatally (then drains and rejects with that error).
 *
 * @example An echo worker
 * ```ts ignore
 * import { EventsClient, runWorker } from "@bus/integration";
 *
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * const controller = new AbortController();
 * await runWorker({
 *   transport: client,
 *   names: ["example.echo.request"],
 *   delivery: "unicast",
 *   group: "echo",
 *   consumer: "echo-1",
 *   concurrency: 4,
 *   signal: controller.signal,
 *   handler: async (event, publisher) => {
 *     await publisher.reply({ echoed: event.payload });
 *   },
 * });
 * ```
 */
export function runWorker<S extends EventSchemas = EventSchemas>(
  options: WorkerOptions<S>,
): Promise<void> {
  try {
    return startWorker(options);
  } catch (error) {
    // Bad options reject, as from an async function.
    return Promise.reject(error);
  }
}

/** {@linkcode runWorker}'s body: checks the options, then listens; throws on bad ones. */
function startWorker<S extends EventSchemas>(options: WorkerOptions<S>): Promise<void> {
  if (options.names.length === 0) {
    throw new TypeError("Cannot run worker: names is empty");
  }
  assertWorkerBasics(options);
  options.names.forEach(assertEventName);
  assertIdempotencyOptions(options.idempotency, "Cannot run worker");
  assertOrderingKey(options.orderingKey, "Cannot run worker");
  assertLossyOptions(options.lossy, "Cannot run worker");
  const policy = resolveRetryPolicy(options.retry, "Cannot run worker");
  assertDeadLetterOptions(options.deadLetter, "Cannot run worker");
  assertEventSchemas(options.schema, "Cannot run worker");
  assertHandlerTimeout(options.handlerTimeout, "Cannot run worker");
  assertTracingOption(options.tracing);
  const redact = redactorOf(options.secrets, "Cannot run worker");
  return new RunningWorker(options, policy, redact).run();
}

/**
 * The `tracing` option checked: a typo (`producer: "parents"`) would
 * otherwise fall back to links without a word.
 */
export function assertTracingOption(tracing: unknown, where = "Cannot run worker"): void {
  if (tracing === undefined || tracing === false) return;
  const producer = (tracing as { producer?: unknown } | null)?.producer;
  if (
    typeof tracing !== "object" || tracing === null ||
    (producer !== undefined && producer !== "link" && producer !== "parent")
  ) {
    throw new TypeError(
      `${where}: tracing is ${
        JSON.stringify(tracing) ?? String(tracing)
      }, expected false or { producer: "link" | "parent" }`,
    );
  }
}

/**
 * The options a `defineWorker()` registration has checked for it, checked
 * for a worker run directly: a handler that is not a function would only
 * fail every event, a negative `drainTimeout` would drain for no time.
 */
function assertWorkerBasics(options: WorkerOptions<EventSchemas>): void {
  if (typeof options.handler !== "function") {
    throw new TypeError("Cannot run worker: handler is not a function");
  }
  const { delivery, drainTimeout } = options;
  if (delivery !== undefined && delivery !== "broadcast" && delivery !== "unicast") {
    throw new TypeError(
      `Cannot run worker: delivery is ${JSON.stringify(delivery)}, expected broadcast or unicast`,
    );
  }
  for (const field of ["group", "consumer", "source"] as const) {
    if (options[field] !== undefined && typeof options[field] !== "string") {
      throw new TypeError(`Cannot run worker: ${field} is not a string`);
    }
  }
  if (drainTimeout !== undefined && !(typeof drainTimeout === "number" && drainTimeout >= 0)) {
    throw new RangeError(
      `Cannot run worker: drainTimeout is ${String(drainTimeout)}, expected a number of ms >= 0`,
    );
  }
}

/**
 * One running worker: its state, and its callbacks as methods, in one
 * object. An idle worker of a host then holds this object and two small
 * closures rather than a dozen closures and the contexts they share, and
 * it is its listeners' options itself (`onEvent` is called as its method):
 * no options object of its own per worker either.
 */
class RunningWorker implements ListenAllOptions {
  readonly transport: EventTransport;
  readonly streams: readonly ListenStreamOptions[];
  readonly readiness: ListenerReadiness | undefined;
  readonly signal: AbortSignal | undefined;
  readonly reconnect: ReconnectOptions | false | undefined;
  readonly tokenRefresh: boolean | undefined;
  readonly random: (() => number) | undefined;
  readonly now: (() => number) | undefined;
  readonly #options: WorkerOptions;
  readonly #policy: RetryPolicy;
  readonly #redact: Redact;
  readonly #slots: Slots;
  readonly #stats: WorkerStats;
  // Asked once: with debug off, an event costs no log record at all.
  readonly #events: EventLog | undefined;
  readonly #source: string | undefined;
  // Both made only if an event needs them: an idle worker holds no signal.
  // Aborted when the drain timeout ran out: the handlers' signal.
  #handlersStop: AbortController | undefined;
  // Aborted when the listeners end: in-process retry waits stop then.
  #stopping: AbortController | undefined;
  #listening = true;
  // The steps are made at the first event, not up front: a host's idle
  // registrations hold none of their closures (see bench/scale_library.ts).
  #processSpan: HandlerMiddleware | undefined;
  #shared: PipelineStep[] | undefined;
  #idempotency: PipelineStep[] | undefined;
  // One pipeline per (redelivers, traced). Without an SDK a no-op process
  // span still costs a step per event, so the untraced pipeline runs while
  // none is registered. An SDK may come later, but asking costs about as
  // much as the rest of an untraced event's overhead, so it is asked every
  // TELEMETRY_RECHECK events rather than each.
  readonly #pipelines: Array<WorkerPipeline | undefined> = [];
  #traced = false;
  #untilRecheck = 0;
  // The queue frees the slot once `#handle` ends. Made at the first event,
  // like the pipeline: an idle registration holds no queue.
  #queue: KeyedQueue<WorkerJob> | undefined;
  readonly #heartbeat = new QueuedHeartbeat();

  constructor(options: WorkerOptions, policy: RetryPolicy, redact: Redact) {
    this.#options = options;
    this.#policy = policy;
    this.#redact = redact;
    this.#slots = new Slots(options.concurrency ?? 1);
    this.#stats = options.stats ?? new WorkerStats();
    this.#events = eventLog();
    this.#source = options.source ?? options.consumer ?? options.group;
    // The one closure the streams need: the transport calls it on a copy of them.
    const onInvalid = (invalid: InvalidInput) => this.#invalid(invalid);
    this.streams = options.names.map((name) => ({
      name,
      delivery: options.delivery,
      group: options.group,
      consumer: options.consumer,
      replay: options.replay,
      concurrency: this.#slots.size,
      onInvalid,
    }));
    this.transport = options.transport;
    this.readiness = options.readiness;
    this.signal = options.signal;
    this.reconnect = options.reconnect;
    this.tokenRefresh = options.tokenRefresh;
    this.random = options.random;
    this.now = options.now;
  }

  /**
   * Listens until the listeners end, then drains. Not an async function:
   * no suspended frame holds the worker while it listens (a host holds a
   * thousand), only the one reaction on its listeners' promise.
   */
  run(): Promise<void> {
    return listenAll(this).then(() => this.#ended(undefined), (error) => this.#ended({ error }));
  }

  async #ended(failure: { error: unknown } | undefined): Promise<void> {
    if (failure) this.#stats.lastError = describeError(failure.error);
    this.#listening = false;
    this.#stopping?.abort();
    await this.#drain(this.#options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT);
    // What never started is left to the transport to deliver again.
    this.#heartbeat.stop();
    if (failure) throw failure.error;
  }

  /** Called by the listeners with each event: queues it for a slot. */
  async onEvent(event: EventEnvelope, received: ListenEventContext): Promise<void> {
    const { lossy, orderingKey } = this.#options;
    let key: string | undefined;
    try {
      key = orderingKey === undefined ? undefined : orderingKeyOf(orderingKey, event);
    } catch (error) {
      // An event this worker cannot place is skipped like malformed input, never fatal.
      const reason = describeError(error);
      this.#stats.invalid++;
      logger.error("Skipped {name} {id}: {reason}", { name: event.name, id: event.id, reason });
      await received.defer().settle({ type: "dead", reason });
      return;
    }
    const queue = this.#queue ??= new KeyedQueue({
      slots: this.#slots,
      limit: lossy ? lossy.buffer : this.#slots.size * ORDERING_BACKLOG_PER_SLOT,
      run: (job) => this.#handle(job),
      signal: this.#handlersSignal,
      counters: this.#stats,
    });
    if (lossy) {
      // Never waits, so the stream is read at its own pace; not deferred, a
      // dropped event is settled `done` by the listener.
      if (queue.canTake(key)) queue.take(key, { event, settler: this.#deferred(received), key });
      else reportDrop(lossy, this.#stats, event);
      return;
    }
    // Waiting here keeps the stream unread while every slot is busy (or too
    // many events wait behind busy keys). An abort while waiting rejects;
    // the listener then sees its signal aborted and ends quietly.
    const settler = this.#deferred(received);
    try {
      await queue.push(key, { event, settler, key }, received.signal);
    } catch (error) {
      this.#heartbeat.started(settler);
      throw error;
    }
  }

  /** The event's settler, kept alive for the transport while it waits to start. */
  #deferred(received: ListenEventContext): EventSettler {
    const settler = received.defer();
    this.#heartbeat.queued(settler);
    return settler;
  }

  #invalid(invalid: InvalidInput): void {
    this.#stats.invalid++;
    logger.warn("Skipped malformed input: {reason}", { ...invalid });
    this.#options.onInvalid?.(invalid);
  }

  /** The handlers' signal, aborted when the drain timeout runs out. */
  get #handlersSignal(): AbortSignal {
    return (this.#handlersStop ??= new AbortController()).signal;
  }

  /** Aborted once the listeners ended (made so when first asked after that). */
  get #stoppingSignal(): AbortSignal {
    if (this.#stopping === undefined) {
      this.#stopping = new AbortController();
      if (!this.#listening) this.#stopping.abort();
    }
    return this.#stopping.signal;
  }

  async #handle({ event, settler, key }: WorkerJob): Promise<void> {
    const events = this.#events;
    const pipeline = this.#pipelineFor(settler.redelivers);
    // A keyed event (an ordering key, or an idempotency key the worker
    // honours) waits out its retries here even where the transport
    // redelivers: a `nak` would free its key for the events behind it (they
    // would overtake it) and its slot for a duplicate waiting for its claim
    // (which could hold the last slot its redelivery needs). `working()`
    // keeps the transport from redelivering it meanwhile; a crash still does.
    const retriesHere = !settler.redelivers || key !== undefined ||
      (this.#options.idempotency !== false && idempotencyKeyOf(event) !== undefined);
    this.#heartbeat.started(settler);
    const stopWorking = keepWorking(settler);
    const started = events?.start() ?? 0;
    let settlement: Settlement;
    for (let attempt = settler.attempt;; attempt++) {
      const context = this.#contextFor(event, attempt);
      // Counted, logged and answered by the pipeline already. Awaited in a
      // `try`, not through `.then()`: no promise of its own per attempt.
      let failure: { error: unknown } | undefined;
      try {
        await pipeline.run(event, context);
      } catch (error) {
        failure = { error };
      }
      // Every attempt ends with a settlement, so what a step left to the
      // attempt's end (idempotency ending its claim) can tell a retry from a
      // failure for good. It runs before the event is settled, as a
      // `finally` would have.
      settlement = context.settlement ??= failure
        ? { type: "dead", reason: describeError(failure.error) }
        : DONE;
      // An event that retries here waits out the delay holding its slot
      // (and its key); any other is settled `retry`, and the transport waits
      // (JetStream `nak(delay)`).
      const waitsHere = settlement.type === "retry" && retriesHere;
      if (settlement.type === "retry" && retriesHere) {
        try {
          await delay(settlement.delay, this.#stoppingSignal);
        } catch {
          // Ended for good: the attempt's end hook sees that (a claim is released).
          context.settlement = settlement = await pipeline.giveUp(
            event,
            this.#contextFor(event, attempt),
            failure?.error,
          );
        }
      }
      const ending = endAttempt(context);
      if (ending !== undefined) await ending;
      if (!waitsHere || settlement.type !== "retry") break;
    }
    stopWorking();
    events?.handled(event, started, settlement);
    // The slot is held until the transport knows, so a drain waits for acks too.
    const settling = settler.settle(settlement);
    // Over HTTP settling is done when it returns: no turn to wait for it.
    if (settling !== RESOLVED) await settling.catch(() => {});
    events?.settled(event, settlement);
  }

  #contextFor(event: EventEnvelope, attempt: number): WorkerContext {
    const signal = this.#handlersSignal;
    return {
      publisher: new EventPublisher(this.transport, event, signal, this.#source),
      signal,
      attempt,
      settlement: undefined,
      attemptEnd: undefined,
    };
  }

  #pipelineFor(redelivers: boolean): WorkerPipeline {
    const options = this.#options;
    if (--this.#untilRecheck < 0) {
      this.#untilRecheck = TELEMETRY_RECHECK - 1;
      this.#traced = options.tracing !== false && telemetryLive();
    }
    const traced = this.#traced;
    const slot = (redelivers ? 2 : 0) + (traced ? 1 : 0);
    let found = this.#pipelines[slot];
    if (found === undefined) {
      const stats = this.#stats;
      const source = this.#source;
      this.#shared ??= [
        ...(options.metrics === undefined ? [] : [measureProcessing(options.metrics)]),
        countOutcomes(stats),
        logFailuresOf(this.#policy.attempts),
      ];
      // Made once for both kinds of subscription: its in-memory store's state.
      this.#idempotency ??= idempotencySteps(
        options.idempotency,
        idempotencyScope(options, source),
        stats,
      );
      // Outermost: everything the event causes happens inside its span.
      if (traced) {
        this.#processSpan ??= traceProcessing({
          system: systemOf(options.transport),
          group: options.group,
          consumer: options.consumer,
          producer: options.tracing === false ? undefined : options.tracing?.producer,
          redact: this.#redact,
        });
      }
      const steps = traced ? [this.#processSpan!, ...this.#shared] : this.#shared;
      found = workerPipeline(options, this.#policy, {
        shared: steps,
        idempotency: this.#idempotency!,
        redact: this.#redact,
        stats,
        source,
        redelivers,
      });
      this.#pipelines[slot] = found;
    }
    return found;
  }

  /** Waits for in-flight handlers up to `timeout`, then aborts their signal. */
  async #drain(timeout: number): Promise<void> {
    const slots = this.#slots;
    if (slots.inUse === 0) return;
    logger.info("Draining {count} in-flight handlers", { count: slots.inUse });
    if (!await settlesWithin(slots.idle(), timeout)) {
      logger.warn("Drain timeout of {timeout} ms ran out with {count} handlers running", {
        timeout,
        count: slots.inUse,
      });
      (this.#handlersStop ??= new AbortController()).abort(
        new DOMException("The worker's drain timeout ran out", "TimeoutError"),
      );
    }
  }
}

/** An event the worker's queue holds for a slot. */
interface WorkerJob {
  event: EventEnvelope;
  settler: EventSettler;
  /** Its ordering key, if the worker has an `orderingKey` and it gave one. */
  key: string | undefined;
}

/** The worker's pipeline for the events of one kind of subscription. */
interface WorkerPipeline {
  /** Runs one attempt: every middleware, then the handler. */
  run: Pipeline;
  /**
   * Ends an event the worker stopped before it could retry: the middlewares
   * outside the retry policy alone (no attempt runs) count, log, answer and
   * dead-letter `error` as a failure for good. Resolves with the settlement.
   */
  giveUp(event: EventEnvelope, context: WorkerContext, error: unknown): Promise<Settlement>;
}

/**
 * The worker's pipeline, outermost first: counting → failure logging →
 * error response → dead letter → retry policy → idempotency → handler
 * timeout → the caller's middlewares → the handler. The retry policy decides each failure's
 * settlement; everything outside it tells by that settlement whether the
 * failure is final (answer, dead-letter, count as failed) or not (count as
 * retried). Idempotency sits inside the policy, so a store that fails is
 * an attempt's failure like any other (retried, answered, dead-lettered);
 * it ends its claim by the settlement when the attempt ends. Dead letters
 * depend on whether the transport `redelivers`.
 */
function workerPipeline(
  options: WorkerOptions,
  policy: RetryPolicy,
  parts: {
    shared: readonly PipelineStep[];
    idempotency: readonly PipelineStep[];
    stats: WorkerStats;
    source: string | undefined;
    redelivers: boolean;
    redact: Redact;
  },
): WorkerPipeline {
  const outer: PipelineStep[] = [...parts.shared, replyOnFailureWith(parts.redact)];
  if (options.deadLetter !== false) {
    outer.push(deadLetter({
      options: options.deadLetter ?? {},
      worker: { source: parts.source, consumer: options.consumer, group: options.group },
      stats: parts.stats,
      // An event whose dead letter failed comes back at the policy's longest
      // wait: what failed is most likely the bus itself.
      redeliverAfter: parts.redelivers ? policy.maxDelay : undefined,
      redact: parts.redact,
    }));
  }
  return {
    run: compose(
      [
        ...outer,
        retry(policy, options.random),
        ...parts.idempotency,
        ...(options.handlerTimeout === undefined ? [] : [handlerTimeout(options.handlerTimeout)]),
        ...(options.middlewares ?? []),
      ],
      validatedHandler(options.schema, options.handler),
    ),
    async giveUp(event, context, error) {
      const cause = error ?? new Error("Cannot retry the event: the worker stopped");
      context.settlement = {
        type: "dead",
        reason: `the worker stopped before attempt ${context.attempt + 1}: ${describeError(cause)}`,
      };
      await compose(outer, () => Promise.reject(cause))(event, context).catch(() => {});
      await endAttempt(context);
      return context.settlement;
    },
  };
}

/**
 * Events between two checks whether an OpenTelemetry SDK is registered: an
 * SDK registered after a worker started gets spans from at most this many
 * events later.
 */
export const TELEMETRY_RECHECK = 64;

const noop = (): void => {};

/** Whose idempotency keys a worker's are: its unicast group, else (broadcast) its own. */
function idempotencyScope(options: WorkerOptions, source: string | undefined): string {
  return options.delivery === "unicast" ? options.group ?? "default" : source ?? "";
}

/**
 * While an event is handled, tells the transport every `workingInterval` ms
 * that it still is (JetStream `working()`), so a handler that outlasts the
 * redelivery wait does not get its event redelivered elsewhere. Returns the
 * function that stops it; a no-op where the transport does not redeliver.
 */
function keepWorking(settler: EventSettler): () => void {
  const interval = settler.workingInterval;
  if (!settler.redelivers || interval === undefined || !(interval > 0)) return noop;
  const timer: ReturnType<typeof setInterval> = setInterval(() => {
    settler.working().catch(() => {});
  }, timerDelay(interval));
  return () => clearInterval(timer);
}
