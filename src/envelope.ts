/**
 * The Bus event envelope: its type, name rules, defaults and the
 * request → response name convention.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ResponseErrorBody } from "./errors.ts";

/**
 * One Bus event as it travels on the wire. Unknown fields are kept as they
 * are, so an envelope survives a round trip through an older library.
 */
export interface EventEnvelope {
  /** Stamped by the server on publish. */
  id?: string | undefined;
  /** Envelope version; `"v1"` when missing. */
  version?: string | undefined;
  /** Dot-separated lowercase name, e.g. `bus.ssh.script.run.request`. */
  name: string;
  /** Links a response to its request. */
  correlationId?: string | undefined;
  /** Producer id: a worker sets its consumer name. */
  source?: string | undefined;
  /** RFC 3339 UTC time; set at publish when missing. */
  timestamp?: string | undefined;
  /** String key/value pairs: idempotency keys, trace context, routing. */
  metadata?: Record<string, string> | undefined;
  /** Any JSON value. */
  payload?: unknown;
  /** Set on a failed response. */
  error?: ResponseErrorBody | undefined;
  /** Owner, stamped by the server from the token's `sub`. */
  // deno-lint-ignore camelcase -- the wire name of the contract
  identity_id?: string | undefined;
  /** Fields this version does not know; kept as they are. */
  [field: string]: unknown;
}

/** The envelope version this library writes when none is given. */
export const ENVELOPE_VERSION = "v1";

/** Longest event name accepted, in characters. */
export const MAX_EVENT_NAME_LENGTH = 255;

const EVENT_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

/**
 * Names {@linkcode eventNameProblem} found valid, and most it keeps (then
 * it starts over): a worker publishes the same few names again and again,
 * and a look-up costs a fraction of the checks (strings never change, so
 * a name valid once is valid for good).
 */
const validNames = new Set<string>();
const VALID_NAMES_KEPT = 1024;

/**
 * Tells why `name` is not a valid event name, or returns `undefined` when it
 * is: dot-separated segments of lowercase letters, digits, `-` and `_`, no
 * wildcards, no empty segments, at most {@linkcode MAX_EVENT_NAME_LENGTH}.
 */
export function eventNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "it is not a string";
  if (validNames.has(name)) return undefined;
  if (name.length === 0) return "it is empty";
  if (name.length > MAX_EVENT_NAME_LENGTH) {
    return `it is longer than ${MAX_EVENT_NAME_LENGTH} characters`;
  }
  if (name.includes("*") || name.includes(">")) return "wildcards are not allowed";
  if (!EVENT_NAME.test(name)) {
    return "use dot-separated lowercase letters, digits, '-' and '_'";
  }
  if (validNames.size >= VALID_NAMES_KEPT) validNames.clear();
  validNames.add(name);
  return undefined;
}

/**
 * Throws a `TypeError` unless `name` is a valid event name.
 *
 * @example Validate before publishing
 * ```ts
 * import { assertEventName } from "@bus/integration";
 * assertEventName("bus.ssh.script.run.request"); // ok
 * ```
 */
export function assertEventName(name: unknown): asserts name is string {
  const problem = eventNameProblem(name);
  if (problem !== undefined) {
    throw new TypeError(
      `Cannot use event name ${JSON.stringify(name)}: ${problem}`,
    );
  }
}

/**
 * Returns a copy of `event` with `version` and `timestamp` filled in when
 * missing. Every other field, known or not, is kept.
 */
export function withEnvelopeDefaults<T extends EventEnvelope>(
  event: T,
  now?: () => Date,
): T {
  return {
    ...event,
    version: event.version ?? ENVELOPE_VERSION,
    timestamp: event.timestamp ?? (now === undefined ? isoTimestamp() : now().toISOString()),
  };
}

/** The second {@linkcode isoTimestamp} formatted last, and its text up to the milliseconds. */
let isoSecond = Number.NaN;
let isoPrefix = "";
/** The latest time a `Date` holds, in ms either side of 1970. */
const MAX_DATE_MS = 8.64e15;

/**
 * `new Date(ms).toISOString()` (`ms` defaults to now), formatting the date
 * and time only once a second and appending the milliseconds: formatting a
 * `Date` took 0.1–0.4 µs a publish (Bun, Node), and the publishes of one
 * second share their text up to the seconds.
 *
 * @throws {RangeError} When `ms` is not a valid time, as `toISOString()` does.
 */
export function isoTimestamp(ms: number = Date.now()): string {
  // A Date holds whole milliseconds, truncated toward zero.
  const time = Math.trunc(ms);
  const second = Math.floor(time / 1000);
  // Past a Date's range (or NaN) too: `toISOString()` throws there.
  if (second !== isoSecond || !(Math.abs(time) <= MAX_DATE_MS)) {
    const text = new Date(time).toISOString();
    // Every form ends in "sss" + "Z": keep the text up to and with the dot.
    isoPrefix = text.slice(0, -4);
    isoSecond = second;
    return text;
  }
  const millis = time - second * 1000;
  return `${isoPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}

/**
 * Derives the response name of a request name: `x.y.request` →
 * `x.y.response`; any other name gets `.response` appended.
 *
 * @example
 * ```ts
 * import { responseNameFor } from "@bus/integration";
 * responseNameFor("bus.ssh.script.run.request"); // "bus.ssh.script.run.response"
 * ```
 */
export function responseNameFor(requestName: string): string {
  return requestName.endsWith(".request")
    ? `${requestName.slice(0, -".request".length)}.response`
    : `${requestName}.response`;
}

/**
 * Tells why `value` is not an event envelope, or `undefined` when it is one:
 * a JSON object whose `name` is a string.
 */
export function envelopeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return "not a JSON object";
  }
  if (typeof (value as { name?: unknown }).name !== "string") {
    return "the envelope has no string name";
  }
  return undefined;
}
