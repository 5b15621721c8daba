/**
 * `Publisher`: what a worker's handler publishes through — free events,
 * replies and error replies correlated with the event it handles.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type EventEnvelope, responseNameFor } from "./envelope.ts";
import { producerLinks } from "./tracing/links.ts";
import { sendTraced } from "./tracing/send.ts";
import type { EventTransport, PublishResult } from "./transport.ts";

/** Envelope fields a publisher lets the caller set besides name and payload. */
export interface PublishInit {
  /** Links the event to a request; `reply()` and `replyError()` always use the event's. */
  correlationId?: string | undefined;
  /** Producer id; defaults to the worker's consumer (or group). */
  source?: string | undefined;
  /** String key/value pairs. */
  metadata?: Record<string, string> | undefined;
  /** RFC 3339 time; defaults to now. */
  timestamp?: string | undefined;
  /** Aborts the publish request. */
  signal?: AbortSignal | undefined;
}

/**
 * Handed to a worker's handler with each event. `signal` aborts when the
 * worker gives up waiting for the handler (the drain timeout ran out, or the
 * worker failed), so long work can stop early.
 */
export interface Publisher {
  /** The event being handled. */
  readonly event: EventEnvelope;
  /** Aborts when the handler should stop. */
  readonly signal: AbortSignal;
  /** Publishes any event. */
  publish(name: string, payload: unknown, init?: PublishInit): Promise<PublishResult>;
  /**
   * Publishes the response to the event: the derived response name
   * (`x.request` → `x.response`), the same `correlationId`.
   *
   * @throws {TypeError} when the event has no `correlationId`.
   */
  reply(payload: unknown, init?: PublishInit): Promise<PublishResult>;
  /** Publishes an error response (`error: { code, message }`) to the event. */
  replyError(code: string, message: string, init?: PublishInit): Promise<PublishResult>;
}

/** The {@linkcode Publisher} of one event. */
export class EventPublisher implements Publisher {
  readonly event: EventEnvelope;
  readonly signal: AbortSignal;
  readonly #transport: EventTransport;
  readonly #source: string | undefined;

  /** Creates the publisher of `event`. */
  constructor(
    transport: EventTransport,
    event: EventEnvelope,
    signal: AbortSignal,
    source: string | undefined,
  ) {
    this.#transport = transport;
    this.event = event;
    this.signal = signal;
    this.#source = source;
  }

  publish(name: string, payload: unknown, init: PublishInit = {}): Promise<PublishResult> {
    return this.#send({ name, payload }, init);
  }

  async reply(payload: unknown, init: PublishInit = {}): Promise<PublishResult> {
    return await this.#send({ ...this.#responseHead(), payload }, init, true);
  }

  async replyError(
    code: string,
    message: string,
    init: PublishInit = {},
  ): Promise<PublishResult> {
    return await this.#send({ ...this.#responseHead(), error: { code, message } }, init, true);
  }

  #responseHead(): EventEnvelope {
    const correlationId = this.event.correlationId;
    if (correlationId === undefined) {
      throw new TypeError(
        `Cannot reply to ${this.event.name} ${this.event.id ?? ""}: the event has no correlationId`,
      );
    }
    return { name: responseNameFor(this.event.name), correlationId };
  }

  #send(head: EventEnvelope, init: PublishInit, isReply = false): Promise<PublishResult> {
    const { signal, ...fields } = init;
    // The head goes last: a reply's name and correlationId are not the caller's to change.
    return sendTraced(
      this.#transport,
      { ...fields, ...head, source: fields.source ?? this.#source },
      { signal },
      // A reply's send span links to the request's.
      isReply ? producerLinks(this.event.metadata) : undefined,
    );
  }
}
