/**
 * `listenResponses()`: a command-owned listener on response names, with the
 * same reconnect, readiness and auth-failure policy as a worker.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { InvalidInputHandler } from "./decode/types.ts";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { listenAll, type ListenPolicy } from "./listener.ts";
import type { EventTransport } from "./transport.ts";

/** Options of {@linkcode listenResponses}. */
export interface ListenResponsesOptions extends ListenPolicy {
  /** The (shared) transport, e.g. an `EventsClient`. */
  transport: EventTransport;
  /** Response names to listen to, each with broadcast delivery. */
  names: readonly string[];
  /** Receives each response envelope; must not throw. */
  onResponse: (event: EventEnvelope) => void;
  /** Called for each malformed line skipped. */
  onInvalid?: InvalidInputHandler | undefined;
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
 *   transport: client,
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
    onEvent: (event) => onResponse(event),
  });
}
