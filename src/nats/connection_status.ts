/**
 * Watching one NATS connection: whether it is up now, and telling open
 * subscriptions when it breaks, so they end with a `TransientError` and the
 * listener's reconnect policy and readiness take over (nats.js itself
 * reconnects underneath; the subscriptions are reopened on top).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { errors, type NatsConnection } from "@nats-io/nats-core";
import { getLogger } from "@logtape/logtape";
import { TransientError } from "../errors.ts";
import { mapNatsError } from "./error_mapping.ts";
import type { NatsTransportStats } from "./stats.ts";

/** Called with the error a subscription should end with. */
export type ConnectionLossListener = (error: unknown) => void;

const logger = getLogger(["bus-integration", "nats"]);

/** The state of one connection, kept from nats.js's status events. */
export class ConnectionStatus {
  readonly #listeners = new Set<ConnectionLossListener>();
  readonly #stopWatching: () => void;
  #connected = true;
  #closedWith: unknown;

  /** Starts watching; `server` names the connection in logs. */
  constructor(connection: NatsConnection, server: string, stats: NatsTransportStats) {
    const where = { server };
    const statuses = connection.status();
    // nats.js's status iterator can be stopped, though it is typed as a plain iterable.
    this.#stopWatching = () => (statuses as { stop?: () => void }).stop?.();
    (async () => {
      for await (const status of statuses) {
        if (status.type === "disconnect") {
          this.#connected = false;
          stats.disconnects++;
          logger.warn("NATS connection to {server} lost; reconnecting", where);
          this.#notify(
            new TransientError("Cannot keep listening: the NATS connection was lost", {
              code: "disconnected",
            }),
          );
        } else if (status.type === "reconnect") {
          this.#connected = true;
          logger.info("NATS connection to {server} is back", where);
        }
      }
    })().catch(() => {});
    connection.closed().then((error) => {
      this.#connected = false;
      this.#closedWith = mapNatsError(error ?? new errors.ClosedConnectionError(), "use NATS");
      if (error !== undefined) {
        logger.error("NATS connection to {server} closed: {error}", { ...where, error });
      }
      this.#notify(this.#closedWith);
    }, () => {});
  }

  /** Whether the connection is up (not reconnecting, not closed). */
  get connected(): boolean {
    return this.#connected;
  }

  /** The error a closed connection fails new work with; `undefined` while it is open. */
  get closedWith(): unknown {
    return this.#closedWith;
  }

  /** Stops watching (the transport closed; the connection may be the application's). */
  close(): void {
    this.#listeners.clear();
    this.#stopWatching();
  }

  /** Calls `listener` whenever the connection breaks or closes; returns the function that stops it. */
  onLoss(listener: ConnectionLossListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(error: unknown): void {
    for (const listener of [...this.#listeners]) listener(error);
  }
}
