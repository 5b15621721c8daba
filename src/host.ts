/**
 * `Host`: runs many worker registrations on one shared transport, with one
 * aggregate readiness, fail-together semantics and health endpoints.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { linkAbort, withDrainDeadline } from "./async.ts";
import { describeError, RegistrationError } from "./errors.ts";
import { ProcessMetrics } from "./handling/metrics.ts";
import { WorkerStats } from "./handling/stats.ts";
import { renderPrometheus } from "./prometheus.ts";
import { allowManyListeners } from "./runtime.ts";
import { statusPage } from "./status_page.ts";
import { assertIdempotencyOptions, type IdempotencyOptions } from "./handling/idempotency.ts";
import { MemoryIdempotencyStore } from "./idempotency_store.ts";
import { resolveRetryPolicy, type RetryOptions } from "./handling/retry_policy.ts";
import { assertHandlerTimeout } from "./handling/handler_timeout.ts";
import {
  healthResponse,
  hostReason,
  type HostReport,
  type HostStatus,
  redactReport,
  type RegistrationReport,
  type RegistrationState,
} from "./health.ts";
import {
  ListenerReadiness,
  observeReadiness,
  ReadinessAggregate,
  type ReadinessObserver,
} from "./readiness.ts";
import { dialedUrl, transportSummary } from "./dialed_url.ts";
import { redactorOf, type Secrets } from "./secrets.ts";
import {
  assertRegistration,
  runCheckedRegistration,
  type WorkerRegistration,
} from "./registration.ts";
import type { ListenPolicy } from "./listener.ts";
import type { EventTransport } from "./transport.ts";
import { DEFAULT_DRAIN_TIMEOUT } from "./worker.ts";

/** Options of {@linkcode Host}. */
export interface HostOptions extends Omit<ListenPolicy, "readiness"> {
  /**
   * The one transport every registration shares, e.g. an `EventsClient`.
   * `reconnect` and `tokenRefresh` apply to registrations that set none;
   * aborting `signal` stops every registration, and `run()` resolves once
   * they drained.
   */
  transport: EventTransport;
  /** What to run; names must be unique. */
  registrations: readonly WorkerRegistration[];
  /**
   * Longest wait for in-flight handlers after stopping, in ms, for
   * registrations that set none.
   *
   * @default {30000}
   */
  drainTimeout?: number | undefined;
  /**
   * Idempotency keys for registrations that set none (see `runWorker`).
   * Without a `store`, the host keeps one `MemoryIdempotencyStore` that all
   * its registrations share (keys are scoped by group and event name).
   *
   * @default {{ ttl: 600000 }}
   */
  idempotency?: IdempotencyOptions | false | undefined;
  /**
   * The handler retry policy of registrations that set none (see
   * `runWorker`); a registration's own `retry` replaces it whole.
   *
   * @default {{ attempts: 1 }: never retried}
   */
  retry?: RetryOptions | undefined;
  /**
   * The handler timeout of registrations that set none, in ms (see
   * `runWorker`).
   *
   * @default {no bound}
   */
  handlerTimeout?: number | undefined;
  /**
   * Whether registrations that do not say gate readiness (the environment's
   * `BUS_EVENTS_LISTENER_REQUIRED`).
   *
   * @default {true}
   */
  required?: boolean | undefined;
  /**
   * Secrets (the API token, a NATS password) removed from every error text
   * the host stores, logs or reports (`lastError`, reasons, `/readyz`, the
   * status page), as defence in depth: the library's own messages carry
   * none, but a handler's error may quote a request, headers and all. A
   * function is asked each time, so a rotated token (the last one a
   * provider returned) is covered too.
   *
   * @default {none}
   */
  secrets?: Secrets | undefined;
}

const logger = getLogger(["bus-integration", "host"]);

/**
 * The reasons a registration's readiness flips with when it ends, not when
 * it loses a stream: `runOwnLoop()` (`run()` threw or returned),
 * `listen()`/`listenAll()` (ended) and the host's own record of a failure.
 */
const END_REASONS: ReadonlySet<string> = new Set(["failed", "stopped"]);

/**
 * A registration and what the host tracks about it; it observes the
 * registration's readiness itself (methods, not closures per registration).
 */
class Entry implements ReadinessObserver {
  readonly readiness: ListenerReadiness = new ListenerReadiness();
  readonly stats: WorkerStats = new WorkerStats();
  readonly metrics: ProcessMetrics = new ProcessMetrics();
  reconnects = 0;
  everReady = false;
  outcome: "stopped" | "failed" | undefined = undefined;

  constructor(
    readonly registration: WorkerRegistration,
    readonly required: boolean,
    readonly host: Host,
    readonly aggregate: ReadinessAggregate,
    readonly redact: (text: string) => string,
  ) {
    observeReadiness(this.readiness, this);
  }

  changed(ready: boolean, reason: string): void {
    if (ready) this.everReady = true;
    else if (this.#lostStream(reason)) this.reconnects++;
    reason = this.redact(reason);
    logger.info("Registration {registration} is {state} ({reason})", {
      registration: this.registration.name,
      state: ready ? "ready" : "not ready",
      reason,
    });
    if (this.required) this.aggregate.changed(ready, reason);
  }

  /**
   * Whether a flip to not ready is a stream lost while the registration
   * goes on (a reconnect): not its end, which flips it too — its own
   * `failed` or `stopped` (`run()` threw or returned, a listener ended),
   * the host's `failed` once it recorded the outcome, or the host's stop.
   */
  #lostStream(reason: string): boolean {
    return this.everReady && this.outcome === undefined && this.host.status === "running" &&
      !END_REASONS.has(reason);
  }

  // A listener failure is the registration's last error too, while it still retries.
  failed(failure: string): void {
    failure = this.redact(failure);
    this.stats.lastError = failure;
    if (this.required) this.aggregate.failed(failure);
  }
}

// Shared by every run() registration, so its outcome costs no closures.
const ended = (): undefined => undefined;
const failedWith = (error: unknown): { error: unknown } => ({ error });

/**
 * Runs every registration concurrently on one shared transport until its signal
 * aborts (then all drain and `run()` resolves) or one registration fails
 * fatally — an `AuthError` without token refresh, a `BadRequestError`, a
 * `run()` that throws. Then the others are stopped and drained, and `run()`
 * rejects with a {@linkcode RegistrationError} naming the registration and
 * carrying its error as `cause`. A registration that ends by itself (without
 * error) only ends itself.
 *
 * `readiness` is ready while every required registration is; {@linkcode
 * Host.fetch} serves it as `GET /readyz`, and liveness as `GET /healthz`.
 *
 * @example Run two registrations and serve health on Deno
 * ```ts ignore
 * import { clientOptionsFromEnv, EventsClient, Host } from "@bus/integration";
 * import echo from "./echo_worker.ts";
 * import scriptRunner from "./script_runner.ts";
 *
 * const { baseUrl, token } = await clientOptionsFromEnv();
 * const controller = new AbortController();
 * Deno.addSignalListener("SIGTERM", () => controller.abort());
 * const host = new Host({
 *   transport: new EventsClient({ baseUrl, token }),
 *   registrations: [echo, scriptRunner],
 *   signal: controller.signal,
 * });
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 8081 }, host.fetch);
 * try {
 *   await host.run();
 * } finally {
 *   await server.shutdown();
 * }
 * ```
 */
export class Host {
  /** Ready while every required registration is ready; false before and after `run()`. */
  readonly readiness: ListenerReadiness = new ListenerReadiness();
  readonly #transport: EventTransport;
  readonly #entries: readonly Entry[];
  readonly #signal: AbortSignal | undefined;
  readonly #drainTimeout: number;
  readonly #policy: Omit<ListenPolicy, "readiness" | "signal">;
  readonly #idempotency: IdempotencyOptions | false;
  readonly #retry: RetryOptions | undefined;
  readonly #handlerTimeout: number | undefined;
  // Stops every registration: each runs with this one signal, not one of
  // its own (an AbortController, an AbortSignal and, on Node, its two Maps:
  // about 570 bytes a registration). Each adds its abort listeners to it
  // (its open stream's, while idle), so Node's limit of 10 is lifted on it
  // (see the constructor). Every stop is the whole host's: a registration
  // that ends by itself needs no signal aborted.
  readonly #stop = new AbortController();
  // Registrations not ended yet, and what resolves `#runEntries()` when none is left.
  #running = 0;
  #allEnded: (() => void) | undefined;
  readonly #required: ReadinessAggregate;
  #status: HostStatus = "idle";
  #failure: RegistrationError | undefined;
  // What every error text the host keeps or shows goes through (see HostOptions.secrets):
  // one function that all entries share.
  readonly #redact: (text: string) => string;
  readonly #secrets: Secrets | undefined;
  #abandoned = 0;

  /**
   * Checks every registration; nothing starts until {@linkcode Host.run}.
   *
   * @throws {TypeError} When there are no registrations, one is malformed,
   * or two share a name.
   * @throws {RangeError} When `drainTimeout` is negative or `idempotency.ttl` is not > 0.
   * @throws {RangeError} When a `retry` number is out of range (see `RetryOptions`).
   * @throws {TypeError} When `secrets` is neither an array nor a function.
   */
  constructor(options: HostOptions) {
    if (!Array.isArray(options.registrations) || options.registrations.length === 0) {
      throw new TypeError("Cannot create host: registrations is empty");
    }
    const seen = new Set<string>();
    // By index: an entries() iterator made an [index, registration] pair per registration.
    for (let index = 0; index < options.registrations.length; index++) {
      const registration = options.registrations[index];
      assertRegistration(registration, `registration ${index}`);
      if (seen.has(registration.name)) {
        throw new TypeError(
          `Cannot create host: registration name "${registration.name}" is used more than once`,
        );
      }
      seen.add(registration.name);
    }
    const drainTimeout = options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT;
    if (!(drainTimeout >= 0)) {
      throw new RangeError(
        `Cannot use drainTimeout: current value is ${drainTimeout}, expected a number of ms >= 0`,
      );
    }
    this.#transport = options.transport;
    this.#signal = options.signal;
    this.#redact = redactorOf(options.secrets, "Cannot create host");
    this.#secrets = options.secrets;
    allowManyListeners(this.#stop.signal);
    this.#drainTimeout = drainTimeout;
    assertIdempotencyOptions(options.idempotency, "Cannot create host");
    resolveRetryPolicy(options.retry, "Cannot create host");
    this.#retry = options.retry;
    assertHandlerTimeout(options.handlerTimeout, "Cannot create host");
    this.#handlerTimeout = options.handlerTimeout;
    this.#idempotency = options.idempotency === false ? false : {
      ttl: options.idempotency?.ttl,
      store: options.idempotency?.store ?? new MemoryIdempotencyStore(),
    };
    this.#policy = {
      reconnect: options.reconnect,
      tokenRefresh: options.tokenRefresh,
      random: options.random,
      now: options.now,
    };
    const parts: ListenerReadiness[] = [];
    this.#required = new ReadinessAggregate(this.readiness, parts);
    this.#entries = options.registrations.map((registration) => {
      const required = registration.required ?? options.required ?? true;
      const entry = new Entry(registration, required, this, this.#required, this.#redact);
      if (required) parts.push(entry.readiness);
      return entry;
    });
  }

  /** Where the host is: `idle`, `running`, `stopping`, `stopped` or `failed`. */
  get status(): HostStatus {
    return this.#status;
  }

  /**
   * Handlers the drain abandoned: still running when their registration's
   * drain timeout ran out after the stop (their signal was aborted, and
   * over HTTP their events are lost). 0 after a clean stop; read it once
   * `run()` settled.
   */
  get abandoned(): number {
    return this.#abandoned;
  }

  /** The registrations' names, in the order given. */
  get names(): string[] {
    return this.#entries.map((entry) => entry.registration.name);
  }

  /**
   * The readiness of one registration.
   *
   * @throws {RangeError} When no registration has that name.
   */
  readinessOf(name: string): ListenerReadiness {
    const entry = this.#entries.find((candidate) => candidate.registration.name === name);
    if (entry === undefined) {
      throw new RangeError(`Cannot find registration "${name}": the host has ${this.names}`);
    }
    return entry.readiness;
  }

  /** A snapshot of the host and each registration: the health endpoints' body. */
  report(): HostReport {
    const url = dialedUrl(this.#transport);
    const registrations = this.#entries.map((entry): RegistrationReport => ({
      name: entry.registration.name,
      state: this.#state(entry),
      required: entry.required,
      url,
      handled: entry.stats.handled,
      failed: entry.stats.failed,
      inFlight: entry.stats.inFlight,
      dropped: entry.stats.dropped,
      duplicates: entry.stats.duplicates,
      retried: entry.stats.retried,
      deadLettered: entry.stats.deadLettered,
      deadLetterFailed: entry.stats.deadLetterFailed,
      recentDeadLetters: [...entry.stats.recentDeadLetters],
      lastError: entry.stats.lastError ?? null,
      reason: entry.readiness.reason,
    }));
    // Redacted as a whole: handlers set `lastError` in their stats directly.
    return redactReport({
      status: this.#status,
      ready: this.readiness.ready,
      reason: hostReason(this.#status, this.readiness.ready, registrations),
      transport: transportSummary(this.#transport),
      registrations,
    }, this.#redact);
  }

  /**
   * Answers `GET /healthz` (200 while running or draining, 503 before `run()`
   * and after it stopped or failed) with `{ alive, status }`, and `GET /readyz`
   * (200 while ready, else 503) with the {@linkcode HostReport}: why it is
   * not ready, and each registration's state, URL and last failure; other
   * paths get 404.
   * It is a bound function, so it mounts as it is:
   *
   * - Deno: `Deno.serve({ port: 8081 }, host.fetch)`
   * - Bun: `Bun.serve({ port: 8081, fetch: host.fetch })`
   * - Node (and the others): `serve({ port: 8081, fetch: host.fetch })` with
   *   `import { serve } from "srvx"`, or `@hono/node-server`'s `serve()`.
   *
   * Bind it to loopback or a private interface: the body lists error messages.
   */
  readonly fetch = (request: Request): Response =>
    healthResponse(request, this.report(), {
      metrics: () =>
        renderPrometheus(this.#entries.map((entry) => ({
          registration: entry.registration.name,
          ready: entry.readiness.ready,
          reconnects: entry.reconnects,
          stats: entry.stats,
          process: entry.metrics,
        }))),
      statusPage: () => statusPage(this.report(), transportSummary(this.#transport)),
    });

  /**
   * Runs every registration until the host's signal aborts (then resolves
   * once all drained) or one fails fatally (then rejects, after the others
   * drained). Can be called once.
   *
   * @throws {RegistrationError} Naming the registration that failed, with its
   * error as `cause`.
   */
  async run(): Promise<void> {
    if (this.#status !== "idle") throw new Error("Cannot run host: run() was already called");
    this.#status = "running";
    const stop = this.#stop;
    // Listen before linking: a signal that is already aborted aborts `stop` at once.
    stop.signal.addEventListener("abort", () => {
      if (this.#status === "running") this.#status = "stopping";
      logger.info("Host stopping: draining {count} registrations", {
        count: this.#entries.filter((entry) => entry.outcome === undefined).length,
      });
    }, { once: true });
    const unlink = linkAbort(this.#signal, stop);
    const onHostChange = (event: { ready: boolean; reason: string }) =>
      logger.info("Host is {state} ({reason})", {
        state: event.ready ? "ready" : "not ready",
        reason: event.reason,
      });
    this.readiness.addEventListener("change", onHostChange);
    this.#required.start();
    logger.info("Host running {names}", { names: this.names });
    try {
      await this.#runEntries();
    } finally {
      unlink();
      this.#required.stop();
      this.readiness.set(false, this.#failure ? "failed" : "stopped");
      this.readiness.removeEventListener("change", onHostChange);
      this.#status = this.#failure ? "failed" : "stopped";
    }
    if (this.#failure) throw this.#failure;
    if (this.#abandoned > 0) {
      logger.warn("Host stopped, abandoning {count} handlers at the drain timeout", {
        count: this.#abandoned,
      });
      return;
    }
    logger.info("Host stopped");
  }

  /**
   * Runs every registration; resolves once all ended, whatever their
   * outcomes (kept on each entry). Counted down by `#ended` rather than
   * `Promise.all()`: that holds a reaction, a closure and a slot per
   * registration more.
   */
  #runEntries(): Promise<void> {
    return new Promise((resolve) => {
      this.#running = this.#entries.length;
      this.#allEnded = resolve;
      for (const entry of this.#entries) this.#runEntry(entry);
    });
  }

  /** Runs one registration; `#ended` records its outcome once it ended. */
  #runEntry(entry: Entry): void {
    const { registration } = entry;
    const drainTimeout = registration.drainTimeout ?? this.#drainTimeout;
    // The policy's fields one by one, not spread: a spread copy grows its
    // property storage as it goes (about 3 KiB of garbage per registration
    // in V8's sampling heap profiler), garbage that a non-moving GC (Bun's)
    // leaves as holes between what the registrations keep.
    const policy = this.#policy;
    const work = runCheckedRegistration(registration, {
      reconnect: policy.reconnect,
      tokenRefresh: policy.tokenRefresh,
      random: policy.random,
      now: policy.now,
      transport: this.#transport,
      signal: this.#stop.signal,
      readiness: entry.readiness,
      stats: entry.stats,
      metrics: entry.metrics,
      drainTimeout,
      idempotency: this.#idempotency,
      retry: this.#retry,
      handlerTimeout: this.#handlerTimeout,
      secrets: this.#secrets,
    });
    // Not an async function: a suspended frame per registration costs more
    // than these closures (which hold only `this` and `entry`). runWorker()
    // bounds its own drain, so a listener registration's end is one
    // reaction on its worker's promise.
    if (registration.run === undefined) {
      work.then(() => this.#ended(entry, undefined), (error) => this.#ended(entry, { error }));
    } else {
      this.#bounded(entry, work, drainTimeout);
    }
  }

  /** A run() function is trusted only so far: it is failed once `drainTimeout` passed after the stop. */
  #bounded(entry: Entry, work: Promise<void>, drainTimeout: number): void {
    withDrainDeadline(work.then(ended, failedWith), this.#stop.signal, drainTimeout, () => ({
      error: new Error(
        `Cannot stop registration: run() did not return within the drain timeout of ${drainTimeout} ms`,
      ),
    })).then((outcome) => this.#ended(entry, outcome));
  }

  /**
   * Records how a registration ended (the first failure stops the others),
   * and `run()` goes on once the last one did.
   */
  #ended(entry: Entry, result: { error: unknown } | undefined): void {
    try {
      this.#record(entry, result);
    } finally {
      if (--this.#running === 0) this.#allEnded?.();
    }
  }

  #record(entry: Entry, result: { error: unknown } | undefined): void {
    const { registration } = entry;
    const { signal } = this.#stop;
    if (result === undefined || (signal.aborted && result.error === signal.reason)) {
      entry.outcome = "stopped";
      this.#countAbandoned(entry);
      if (!signal.aborted) {
        logger.warn("Registration {registration} ended before the host stopped", {
          registration: registration.name,
        });
      }
      return;
    }
    entry.outcome = "failed";
    entry.stats.lastError = this.#redact(describeError(result.error));
    entry.readiness.set(false, "failed");
    // The first failure is what run() rejects with, and its caller says it
    // (the CLI in one line); only later ones, which nobody else sees, are errors here.
    const failed = { registration: registration.name, error: result.error };
    const message = "Registration {registration} failed: {error}";
    if (this.#failure === undefined) logger.debug(message, failed);
    else logger.error(message, failed);
    if (this.#failure === undefined) {
      this.#failure = new RegistrationError(registration.name, result.error);
      this.#stop.abort(this.#failure);
    }
  }

  /**
   * A worker resolves once its drain timeout ran out, without waiting for
   * the handlers it then aborted: those still in flight now are the ones
   * it abandoned.
   */
  #countAbandoned(entry: Entry): void {
    const count = entry.stats.inFlight;
    if (count === 0) return;
    this.#abandoned += count;
    logger.warn("Registration {registration} abandoned {count} handlers at the drain timeout", {
      registration: entry.registration.name,
      count,
    });
  }

  #state(entry: Entry): RegistrationState {
    if (entry.outcome !== undefined) return entry.outcome;
    if (entry.readiness.ready) return "ready";
    if (this.#stop.signal.aborted) return "stopping";
    return entry.everReady ? "reconnecting" : "starting";
  }
}
