/**
 * Reading one JetStream message as an event envelope: JSON, an envelope
 * whose `name` is the event name of its subject, with the stream sequence
 * as its `id`. Anything else is described for `onInvalid`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { envelopeProblem, type EventEnvelope } from "../envelope.ts";
import { type InvalidInput, unusable } from "../decode/types.ts";

const decoder = new TextDecoder();

/**
 * The envelope `message` carries (a fresh object, `id` set to the stream
 * sequence, every other field as published), or what is wrong with it.
 * `name` is the event name of the subscription's subject.
 */
export function decodeMessage(message: JsMsg, name: string): EventEnvelope | InvalidInput {
  const text = decoder.decode(message.data);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return unusable(
      "invalid-json",
      `invalid JSON: ${error instanceof Error ? error.message : String(error)}`,
      text,
    );
  }
  const problem = envelopeProblem(value);
  if (problem !== undefined) return unusable("not-an-envelope", problem, text);
  const envelope = value as EventEnvelope;
  if (envelope.name !== name) {
    return unusable(
      "not-an-envelope",
      `the envelope's name ${JSON.stringify(envelope.name)} is not its subject's (${name})`,
      text,
    );
  }
  envelope.id = String(message.seq);
  return envelope;
}

/** Whether {@linkcode decodeMessage} found an envelope: only an envelope has a `name`. */
export function isEnvelope(decoded: EventEnvelope | InvalidInput): decoded is EventEnvelope {
  return "name" in decoded;
}
