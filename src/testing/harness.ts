/**
 * `testWorker()`: runs one of your registrations against an in-memory
 * Events API, in process — no sockets, no permissions — the way Hono's
 * `app.request()` tests an app without a server. Publish events to it,
 * await its replies, read what it published and its counters.
 *
 * @module
 */

import { EventsClient } from "../client.ts";
import { responseNameFor } from "../envelope.ts";
import type { EventEnvelope } from "../envelope.ts";
import { WorkerStats } from "../handling/stats.ts";
import type { ListenPolicy } from "../listener.ts";
import { ListenerReadiness } from "../readiness.ts";
import { runRegistration, type WorkerRegistration } from "../registration.ts";
import { Requester, type RequestOptions } from "../requester.ts";
import type { PublishResult } from "../transport.ts";
import type { ResponseOf, StandardSchema } from "../schema.ts";
import { createEventsApi, type EventsApi, type EventsApiOptions } from "./events_api.ts";

/** Options of {@linkcode testWorker}. */
export interface TestWorkerOptions extends Pick<ListenPolicy, "reconnect" | "random" | "now"> {
  /** Options of the in-memory Events API the worker runs against. */
  api?: EventsApiOptions | undefined;
  /** Longest wait for in-flight handlers on `close()`, in ms. @default {5000} */
  drainTimeout?: number | undefined;
  /** Default timeout of {@linkcode WorkerHarness.request}, in ms. @default {5000} */
  requestTimeout?: number | undefined;
  /**
   * Wait until the registration is ready before resolving; turn it off for a
   * `run()` registration that never sets its readiness.
   *
   * @default {true}
   */
  waitReady?: boolean | undefined;
}

/** A registration running in process; close it (or `await using` it) when done. */
export interface WorkerHarness extends AsyncDisposable {
  /** The in-memory Events API: its `stats`, `faults`, and `fetch` for your own requests. */
  readonly api: EventsApi;
  /** A client bound to `api` in process, e.g. to publish or stream yourself. */
  readonly transport: EventsClient;
  /** The registration's counters (handled, failed, invalid, in flight, …). */
  readonly stats: WorkerStats;
  /** The registration's readiness (ready once every stream is open). */
  readonly readiness: ListenerReadiness;
  /** Publishes an event to the worker (no correlation id unless `init` has one). */
  publish(name: string, payload: unknown, init?: Partial<EventEnvelope>): Promise<PublishResult>;
  /**
   * Sends a request to the worker and resolves with its reply's payload
   * once the handler has finished (so `stats` counts it); rejects with
   * `ResponseError` on an error response and `RequestTimeoutError` when
   * none comes. The response name is derived from `name` (`x.request` →
   * `x.response`). With `options.schema` it resolves with the schema's
   * output and rejects with `InvalidResponseError` when the reply does not
   * match.
   */
  request<S extends StandardSchema | undefined = undefined>(
    name: string,
    payload: unknown,
    options?: RequestOptions<S>,
  ): Promise<ResponseOf<S>>;
  /** Every event stored under `name` so far (replies, dead letters, anything the worker published). */
  events(name: string): Promise<EventEnvelope[]>;
  /** Stops the worker (draining in-flight handlers) and the in-memory API. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `registration` against a fresh in-memory Events API and resolves
 * once it is ready. Its failure (a `run()` that throws, say) rejects the
 * next call on the harness and `close()`.
 *
 * @example Test an echo worker with no network
 * ```ts
 * import { defineWorker } from "@bus/integration";
 * import { testWorker } from "@bus/integration/testing";
 *
 * const echo = defineWorker({
 *   name: "echo",
 *   names: ["example.echo.request"],
 *   delivery: "unicast",
 *   handler: (event, publisher) => publisher.reply({ echoed: event.payload }),
 * });
 * await using worker = await testWorker(echo);
 * console.log(await worker.request("example.echo.request", "hi")); // { echoed: "hi" }
 * console.log(worker.stats.handled); // 1
 * ```
 */
export async function testWorker(
  registration: WorkerRegistration,
  options?: TestWorkerOptions,
): Promise<WorkerHarness> {
  options ??= {};
  const api = createEventsApi({ heartbeatMs: 0, ...options.api });
  const token = options.api?.auth === false ? undefined : await api.mintToken();
  const transport = new EventsClient({
    baseUrl: "http://bus.test",
    fetch: (request) => api.fetch(request),
    ...(token === undefined ? {} : { token }),
  });
  const stats = new WorkerStats();
  const readiness = new ListenerReadiness();
  const stop = new AbortController();
  const policy = { reconnect: options.reconnect ?? { min: 10, max: 100 } } as const;
  let failure: { error: unknown } | undefined;
  const running = runRegistration(registration, {
    transport,
    signal: stop.signal,
    readiness,
    stats,
    drainTimeout: options.drainTimeout ?? 5_000,
    random: options.random,
    now: options.now,
    ...policy,
  }).catch((error: unknown) => {
    failure = { error };
  });
  const responseNames = "names" in registration && registration.names !== undefined
    ? registration.names.map(responseNameFor)
    : [];
  const requester = responseNames.length === 0 ? undefined : new Requester({
    transport,
    responseNames,
    timeout: options.requestTimeout ?? 5_000,
    source: "test-harness",
    ...policy,
  });
  if (options.waitReady ?? true) {
    try {
      await Promise.all([
        Promise.race([
          // Aborted by the clean-up below, so no listener outlives a failed start.
          readiness.waitReady(stop.signal),
          running.then(() => {
            if (failure) throw failure.error;
          }),
        ]),
        // Rejects with the response listener's fatal failure, which its readiness never tells.
        requester?.waitReady(),
      ]);
    } catch (error) {
      // The caller gets no harness to close: release everything started here.
      stop.abort();
      await requester?.close();
      await running;
      await api.close();
      throw error;
    }
  }
  let closing: Promise<void> | undefined;
  const alive = () => {
    if (failure) throw failure.error;
  };

  const harness: WorkerHarness = {
    api,
    transport,
    stats,
    readiness,
    publish(name, payload, init = {}) {
      alive();
      return transport.publish({ ...init, name, payload });
    },
    request(name, payload, requestOptions) {
      alive();
      if (requester === undefined) {
        return Promise.reject(
          new TypeError("Cannot send a request: this registration listens to no event names"),
        );
      }
      // Resolve once the handler finished too, so its counters are final.
      return requester.request(name, payload, requestOptions).then(
        async (reply) => {
          await stats.idle();
          return reply;
        },
        async (error) => {
          await stats.idle();
          throw error;
        },
      );
    },
    async events(name) {
      const stored: EventEnvelope[] = [];
      for await (const event of transport.stream({ name, replay: true, follow: false })) {
        stored.push(event);
      }
      return stored;
    },
    close() {
      closing ??= (async () => {
        stop.abort();
        await requester?.close();
        await running;
        await api.close();
        alive();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return harness.close();
    },
  };
  return harness;
}
