/**
 * Publishing one event to JetStream: the envelope as the same JSON as over
 * HTTP (`version` and `timestamp` filled in, every other field kept), on the
 * event's subject, acknowledged by the stream; the stream sequence is the
 * event's id.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type ApiError, JetStreamApiError } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/nats-core";
import {
  assertEventName,
  ENVELOPE_VERSION,
  type EventEnvelope,
  isoTimestamp,
} from "../envelope.ts";
import { TransientError } from "../errors.ts";
import { unwatchAbort, watchAbort } from "../abort_watch.ts";
import type { PublishOptions, PublishResult } from "../transport.ts";
import { isNoResponders, mapNatsError } from "./error_mapping.ts";
import type { Replies } from "./replies.ts";
import type { StreamSetup } from "./stream_setup.ts";
import { subjectFor } from "./subjects.ts";

/** What a publish needs from the transport. */
export interface PublishContext {
  /** Where the stream's acknowledgements come back. */
  readonly replies: Replies;
  /** The stream the subjects belong to. */
  readonly setup: StreamSetup;
  /** The subject prefix. */
  readonly subjectPrefix: string;
  /** Whether the connection is up; a publish while it is down fails at once. */
  connected(): boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The stream sequence of a JetStream publish acknowledgement, or its error. */
function sequenceOf(answer: Msg): number {
  const ack = JSON.parse(decoder.decode(answer.data)) as { seq?: number; error?: ApiError };
  if (ack.error !== undefined) throw new JetStreamApiError(ack.error);
  if (typeof ack.seq !== "number") {
    throw new TypeError("Cannot publish event: the PubAck has no seq");
  }
  return ack.seq;
}

/**
 * The stored form of `event`, as `withEnvelopeDefaults()` fills it in (one
 * copy, in the same field order): the server stamps the id, so a given one
 * is dropped.
 */
function payloadOf(event: EventEnvelope): Uint8Array {
  const { id: _id, ...fields } = event;
  fields.version ??= ENVELOPE_VERSION;
  fields.timestamp ??= isoTimestamp();
  return encoder.encode(JSON.stringify(fields));
}

/** Rejects with `signal.reason` as soon as it aborts; the publish itself cannot be recalled. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    watchAbort(signal, onAbort);
    work.then(resolve, reject).finally(() => unwatchAbort(signal, onAbort));
  });
}

/**
 * Publishes `event` and resolves with its stream sequence as `id`. When no
 * stream captures the subject (it was deleted), the stream is set up again
 * and the publish tried once more.
 *
 * @throws {TypeError} When the event name is invalid.
 * @throws {TransientError} When the connection is down or JetStream does not answer.
 * @throws {BadRequestError} When the event exceeds the server's `max_payload`.
 */
export async function publishEvent(
  context: PublishContext,
  event: EventEnvelope,
  options: PublishOptions = {},
): Promise<PublishResult> {
  assertEventName(event.name);
  const { signal } = options;
  if (signal?.aborted) throw signal.reason;
  const data = payloadOf(event);
  const subject = subjectFor(context.subjectPrefix, event.name);
  const attempt = async (): Promise<Msg> => {
    if (!context.connected()) {
      throw new TransientError("Cannot publish event: the NATS connection is down", {
        code: "disconnected",
      });
    }
    await context.setup.ensure();
    return await context.replies.request(subject, data);
  };
  // Once the stream is known, a publish goes straight out.
  const first = context.setup.ready && context.connected()
    ? context.replies.request(subject, data)
    : attempt();
  let sequence: number;
  try {
    sequence = sequenceOf(
      await abortable(
        first.catch((error) => {
          if (!isNoResponders(error)) throw error;
          context.setup.forget();
          return attempt();
        }),
        signal,
      ),
    );
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw mapNatsError(error, "publish event");
  }
  return { id: String(sequence), name: event.name };
}
