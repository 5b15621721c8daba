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
import type { EventTransport, PublishOptions, PublishResult } from "./transport.ts";

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
  /**
   * The handler has no use for the published event's id: the call may
   * resolve with `id: undefined` without reading it (over HTTP the
   * answer's body is then not read, which makes a reply cheaper). The
   * server's acceptance is confirmed all the same, and the id is still read
   * while a tracing SDK records it on the send span. The worker's own error
   * responses set it.
   *
   * @default {false}
   */
  discardId?: boolean | undefined;
}

/**
 * Handed to a worker's handler with each event. `signal` aborts when the
 * worker gives up waiting for the handler (the drain timeout ran out, or the
 * worker failed), so long work can stop early.
 *
 * @typeParam Reply What `reply()` takes: the worker's reply schema's input
 * type, `unknown` without one.
 */
export interface Publisher<Reply = unknown> {
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
   * With a reply schema the reply is checked first and published as the
   * schema's output; one that does not match is not published and rejects
   * with a `NonRetryableError` coded `invalid_reply` (let it propagate: the
   * requester then gets that error response).
   *
   * @throws {TypeError} when the event has no `correlationId`.
   */
  reply(payload: Reply, init?: PublishInit): Promise<PublishResult>;
  /** Publishes an error response (`error: { code, message }`) to the event. */
  replyError(code: string, message: string, init?: PublishInit): Promise<PublishResult>;
}

/** The init of a call that passes none, told apart by identity. */
const NO_INIT: PublishInit = Object.freeze({});

/** Response names by request name: a worker replies to the few names it listens to. */
const responseNames = new Map<string, string>();

function responseNameOf(requestName: string): string {
  let name = responseNames.get(requestName);
  if (name === undefined) {
    name = responseNameFor(requestName);
    // Bounded, for a publisher handed events of arbitrary names.
    if (responseNames.size < 1024) responseNames.set(requestName, name);
  }
  return name;
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

  publish(name: string, payload: unknown, init: PublishInit = NO_INIT): Promise<PublishResult> {
    return this.#send({ name, payload }, init);
  }

  reply(payload: unknown, init: PublishInit = NO_INIT): Promise<PublishResult> {
    const correlationId = this.event.correlationId;
    if (correlationId === undefined) return Promise.reject(this.#noCorrelationId());
    return this.#send(
      { name: responseNameOf(this.event.name), correlationId, payload },
      init,
      true,
    );
  }

  replyError(code: string, message: string, init: PublishInit = NO_INIT): Promise<PublishResult> {
    const correlationId = this.event.correlationId;
    if (correlationId === undefined) return Promise.reject(this.#noCorrelationId());
    const error = { code, message };
    return this.#send({ name: responseNameOf(this.event.name), correlationId, error }, init, true);
  }

  #noCorrelationId(): TypeError {
    return new TypeError(
      `Cannot reply to ${this.event.name} ${this.event.id ?? ""}: the event has no correlationId`,
    );
  }

  #send(head: EventEnvelope, init: PublishInit, isReply = false): Promise<PublishResult> {
    try {
      let event = head;
      let options: PublishOptions | undefined;
      if (init === NO_INIT) {
        // The common call, with no init: the head is this call's own literal.
        head.source = this.#source;
      } else {
        const { signal, discardId, ...fields } = init;
        // The head goes last: a reply's name and correlationId are not the caller's to change.
        event = { ...fields, ...head, source: fields.source ?? this.#source };
        options = { signal, discardId };
      }
      return sendTraced(
        this.#transport,
        event,
        options,
        // A reply's send span links to the request's (none to look for without a traceparent).
        isReply && this.event.metadata?.traceparent !== undefined
          ? producerLinks(this.event.metadata)
          : undefined,
      );
    } catch (error) {
      // Bad input rejects, as from an async method.
      return Promise.reject(error);
    }
  }
}
