/**
 * The options of the NATS JetStream transport that shape the stream and its
 * consumers (`ackWait`, `maxDeliver`, `stream`, `subjectPrefix`, `maxAge`,
 * `shareListenersAfter`),
 * their defaults, and their validation up front.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** How the transport maps events onto JetStream; see {@linkcode resolveTransportOptions}. */
export interface NatsTransportOptions {
  /**
   * How long JetStream waits for a unicast event's settlement before it
   * delivers the event again, in ms. A handler that runs longer than half of
   * it tells JetStream it is still working.
   *
   * @default {30000}
   */
  ackWait?: number | undefined;
  /**
   * How often JetStream delivers one unicast event at most; the delivery
   * that reaches it is terminated instead of retried.
   *
   * @default {5}
   */
  maxDeliver?: number | undefined;
  /**
   * The JetStream stream holding every event; created when missing, used as
   * it is when it exists.
   *
   * @default {"BUS_EVENTS"}
   */
  stream?: string | undefined;
  /**
   * The subject prefix: event `x.y.request` is subject
   * `<subjectPrefix>.x.y.request`, and the stream captures
   * `<subjectPrefix>.>`.
   *
   * @default {"bus.events"}
   */
  subjectPrefix?: string | undefined;
  /**
   * The longest a created stream keeps an event, in ms; `0` keeps events
   * until other limits apply. Only used when the transport creates the
   * stream.
   *
   * @default {604800000}
   */
  maxAge?: number | undefined;
  /**
   * How many broadcast listeners of the transport that follow the stream
   * read it through an ordered consumer of their own (filtered to their
   * one subject); those opened beyond that share one ordered consumer, the
   * live tail, filtered to `<subjectPrefix>.>`. The tail costs a few KiB
   * per listener where an own consumer costs tens of KiB on the client and
   * on the server, but it receives every event of the stream, unicast
   * traffic included, which slows a busy process with few listeners. Once
   * the tail runs, the listeners with a consumer of their own move onto it
   * (no gap, no duplicate, no reconnect), so no event comes in twice, and
   * new listeners join it until it ends. `0` shares from the first listener
   * on. `follow: false` reads always use their own consumer.
   *
   * @default {8}
   */
  shareListenersAfter?: number | undefined;
}

/** {@linkcode NatsTransportOptions} with every default filled in. */
export interface ResolvedTransportOptions {
  /** Milliseconds, a positive integer. */
  readonly ackWait: number;
  /** A positive integer. */
  readonly maxDeliver: number;
  /** A valid JetStream name. */
  readonly stream: string;
  /** Dot-separated subject tokens without wildcards. */
  readonly subjectPrefix: string;
  /** Milliseconds, 0 for no limit. */
  readonly maxAge: number;
  /** A non-negative integer. */
  readonly shareListenersAfter: number;
}

/** The default `ackWait`: JetStream's own default, 30 s. */
export const DEFAULT_ACK_WAIT = 30_000;
/** The default `maxDeliver`. */
export const DEFAULT_MAX_DELIVER = 5;
/** The default stream name. */
export const DEFAULT_STREAM = "BUS_EVENTS";
/** The default subject prefix. */
export const DEFAULT_SUBJECT_PREFIX = "bus.events";
/** The default `maxAge` of a created stream: 7 days. */
export const DEFAULT_MAX_AGE = 7 * 24 * 60 * 60 * 1000;
// A process with a requester and a few subscribers keeps consumers of their own.
const DEFAULT_SHARE_LISTENERS_AFTER = 8;

// JetStream names may not hold `.`, `*`, `>`, white space or path separators.
const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/;
// Subject tokens without wildcards; the event name adds more tokens after it.
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
// Go durations are int64 nanoseconds; a larger one overflows there.
const MAX_MILLISECONDS = 9_223_372_036_854;
// A handler reports `working()` every half ack wait, and a timer waits at
// most 2^31 − 1 ms (a longer wait fires at once).
const MAX_ACK_WAIT = 2 * 2_147_483_647;

function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number") {
    throw new TypeError(`Cannot use ${name}: current value is ${String(value)}, expected a number`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot use ${name}: current value is ${value}, expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}

function patternOption(name: string, value: unknown, pattern: RegExp, expected: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot use ${name}: current value is ${String(value)}, expected a string`);
  }
  if (!pattern.test(value)) {
    throw new TypeError(
      `Cannot use ${name}: current value is ${JSON.stringify(value)}, expected ${expected}`,
    );
  }
  return value;
}

/**
 * Fills in the defaults and checks every option.
 *
 * @throws {TypeError} When an option has the wrong type, or `stream` /
 * `subjectPrefix` is not a valid JetStream name / subject.
 * @throws {RangeError} When `ackWait`, `maxDeliver`, `maxAge` or
 * `shareListenersAfter` is out of range.
 */
export function resolveTransportOptions(options: NatsTransportOptions): ResolvedTransportOptions {
  return {
    ackWait: integerOption("ackWait", options.ackWait ?? DEFAULT_ACK_WAIT, 1, MAX_ACK_WAIT),
    maxDeliver: integerOption(
      "maxDeliver",
      options.maxDeliver ?? DEFAULT_MAX_DELIVER,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    stream: patternOption(
      "stream",
      options.stream ?? DEFAULT_STREAM,
      STREAM_NAME,
      "letters, digits, '-' and '_' (a JetStream stream name)",
    ),
    subjectPrefix: patternOption(
      "subjectPrefix",
      options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX,
      SUBJECT_PREFIX,
      "dot-separated tokens of letters, digits, '-' and '_', without wildcards",
    ),
    maxAge: integerOption("maxAge", options.maxAge ?? DEFAULT_MAX_AGE, 0, MAX_MILLISECONDS),
    shareListenersAfter: integerOption(
      "shareListenersAfter",
      options.shareListenersAfter ?? DEFAULT_SHARE_LISTENERS_AFTER,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
  };
}
