/**
 * `listenResponses()`: a command-owned listener on response names, with the
 * same reconnect, readiness and auth-failure policy as a worker.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventsClient } from "./client.ts";
import type { InvalidInputHandler } from "./decode/types.ts";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { listenAll } from "./listener.ts";
import type { ListenerReadiness } from "./readiness.ts";
import type { ReconnectOptions } from "./reconnect.ts";

/** Options of {@linkcode listenResponses}. */
export interface ListenResponsesOptions {
  /** The (shared) client. */
  client: EventsClient;
  /** Response names to listen to, each with broadcast delivery. */
  names: readonly string[];
  /** Receives each response envelope; must not throw. */
  onResponse: (event: EventEnvelope) => void;
  /** Reconnect backoff, or `false`. @default {{ min: 1000, max: 30000 }} */
  reconnect?: ReconnectOptions | false | undefined;
  /** Retry 401/403 with a reissued token. @default {false} */
  tokenRefresh?: boolean | undefined;
  /** Ready while every response stream is open. */
  readiness?: ListenerReadiness | undefined;
  /** Stops listening; the promise then resolves. */
  signal?: AbortSignal | undefined;
  /** Called for each malformed line skipped. */
  onInvalid?: InvalidInputHandler | undefined;
  /** Random source of the backoff jitter, for tests. */
  random?: (() => number) | undefined;
}

/**
 * Listens to response names with broadcast delivery (every requester
 * process must see every response and keep only its own) until `signal`
 * aborts. Rejects with the first fatal listener error, after stopping the
 * other names.
 *
 * @example
 * ```ts ignore
 * import { EventsClient, listenResponses } from "@bus/integration";
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * await listenResponses({
 *   client,
 *   names: ["bus.ssh.script.run.response"],
 *   onResponse: (event) => console.log(event.correlationId, event.payload),
 * });
 * ```
 */
export function listenResponses(options: ListenResponsesOptions): Promise<void> {
  const { names, onResponse, onInvalid, ...rest } = options;
  try {
    names.forEach(assertEventName);
  } catch (error) {
    return Promise.reject(error);
  }
  return listenAll({
    ...rest,
    streams: names.map((name) => ({ name, delivery: "broadcast", onInvalid })),
    onEvent: onResponse,
  });
}
