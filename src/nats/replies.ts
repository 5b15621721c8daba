/**
 * Requests whose answer the transport waits for — a JetStream publish's
 * `PubAck`, a confirmed ack — over one wildcard inbox subscription, each
 * answer routed by the last token of its reply subject.
 *
 * nats.js's own `request()` does the same, and on every answer builds an
 * error with a stack trace for a cancellation that never happens, arms a
 * timer object and registers with its muxer: about a tenth of a busy
 * worker's CPU time. Here a request is a map entry; one timer sweeps expired
 * ones, and a lost connection fails every pending request at once instead
 * of letting each wait out its timeout.
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  createInbox,
  errors,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";
import { EventsApiError, TransientError } from "../errors.ts";
import type { ConnectionStatus } from "./connection_status.ts";

function closedError(): EventsApiError {
  return new EventsApiError("Cannot get an answer: the NatsTransport is closed", {
    code: "closed",
  });
}

interface Pending {
  readonly resolve: (message: Msg) => void;
  readonly reject: (error: unknown) => void;
  readonly subject: string;
  readonly deadline: number;
}

/** Routes answers to the requests that are waiting for them; see the module doc. */
export class Replies {
  readonly #connection: NatsConnection;
  readonly #timeout: number;
  readonly #prefix: string;
  // In the order the requests went out, so their deadlines are in order too.
  readonly #pending = new Map<string, Pending>();
  readonly #subscription: Subscription;
  readonly #stopWatching: () => void;
  #next = 0;
  #closed = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  /** Subscribes to the inbox; `timeout` bounds each request, in ms. */
  constructor(connection: NatsConnection, status: ConnectionStatus, timeout: number) {
    this.#connection = connection;
    this.#timeout = timeout;
    const inbox = createInbox();
    this.#prefix = `${inbox}.`;
    this.#subscription = connection.subscribe(`${inbox}.*`, {
      callback: (_error, message) => this.#answer(message),
    });
    this.#stopWatching = status.onLoss((error) => this.#failAll(error));
  }

  /**
   * Publishes `data` on `subject` and resolves with the answer.
   *
   * @throws {NoRespondersError} When nothing listens on `subject` (nats.js's class).
   * @throws {TransientError} When no answer came within the timeout, or the connection broke.
   * @throws {EventsApiError} With code `closed` once {@linkcode Replies.close} ran.
   */
  request(subject: string, data: Uint8Array): Promise<Msg> {
    if (this.#closed) return Promise.reject(closedError());
    const token = (this.#next++).toString(36);
    return new Promise((resolve, reject) => {
      this.#pending.set(token, {
        resolve,
        reject,
        subject,
        deadline: Date.now() + this.#timeout,
      });
      this.#sweeper ??= setInterval(() => this.#sweep(), Math.min(this.#timeout, 1_000));
      try {
        this.#connection.publish(subject, data, { reply: this.#prefix + token });
      } catch (error) {
        this.#settle(token)?.reject(error);
      }
    });
  }

  /** Fails what is pending and unsubscribes. */
  close(): void {
    this.#closed = true;
    this.#stopWatching();
    this.#failAll(closedError());
    try {
      this.#subscription.unsubscribe();
    } catch {
      // The connection is closed already.
    }
  }

  #answer(message: Msg): void {
    const pending = this.#settle(message.subject.slice(this.#prefix.length));
    if (pending === undefined) return; // late: timed out already
    // The server answers a request nothing listens for with a 503 status.
    if (message.data.length === 0 && message.headers?.code === 503) {
      pending.reject(new errors.NoRespondersError(pending.subject));
    } else {
      pending.resolve(message);
    }
  }

  #settle(token: string): Pending | undefined {
    const pending = this.#pending.get(token);
    if (pending === undefined) return undefined;
    this.#pending.delete(token);
    if (this.#pending.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
    return pending;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [token, pending] of this.#pending) {
      if (pending.deadline > now) break;
      this.#settle(token);
      pending.reject(
        new TransientError(`Cannot get an answer on ${pending.subject}: none came in time`, {
          code: "timeout",
        }),
      );
    }
  }

  #failAll(error: unknown): void {
    for (const token of [...this.#pending.keys()]) {
      const pending = this.#settle(token);
      pending?.reject(lostWhileWaiting(pending.subject, error));
    }
  }
}

/**
 * The error a request waiting on `subject` fails with when the connection
 * failed with `error`: worded for what waited (a publish, an ack), not for
 * whoever the connection's own error was made for (a listener); its code
 * and retryability are kept.
 */
function lostWhileWaiting(subject: string, error: unknown): unknown {
  if (!(error instanceof EventsApiError)) return error;
  const reason = error.message.replace(/^Cannot [^:]*: /, "");
  const options = { code: error.code, cause: error };
  const message = `Cannot get an answer on ${subject}: ${reason}`;
  return error instanceof TransientError
    ? new TransientError(message, options)
    : new EventsApiError(message, options);
}
