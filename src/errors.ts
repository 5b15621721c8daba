/**
 * Every error class the library throws on purpose. Bad arguments throw the
 * built-in `TypeError` / `RangeError`; the classes here are the conditions
 * callers catch and branch on.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { causeOf, valueText } from "./failure_cause.ts";

/**
 * A one-line description of any thrown value for logs, stats and readiness
 * reasons: `name: message`, followed by what its `cause` says when the
 * message does not say it already — for a failed network request the
 * socket error and address, e.g. `TransientError: Cannot open stream: the
 * network request failed (ECONNREFUSED 127.0.0.1:8080)`. The library's
 * messages never carry a token (server text is redacted before it becomes
 * a message).
 *
 * @example
 * ```ts
 * import { describeError } from "@bus/integration";
 *
 * describeError(new RangeError("Cannot use timeout: current value is -1")); // "RangeError: Cannot use timeout: current value is -1"
 * describeError(new Error("Cannot load", { cause: new TypeError("bad") })); // "Error: Cannot load (TypeError: bad)"
 * describeError("plain"); // "plain"
 * ```
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return valueText(error);
  const described = `${error.name}: ${error.message}`;
  const cause = causeOf(error);
  return cause === undefined || described.includes(cause) ? described : `${described} (${cause})`;
}

/** Options shared by {@linkcode EventsApiError} and its subclasses. */
export interface EventsApiErrorOptions extends ErrorOptions {
  /** HTTP status of the answer, or `undefined` for network failures and EOF. */
  status?: number | undefined;
  /** Machine-readable code: the `error.type` of the server's body, or a local one. */
  code?: string | undefined;
  /** The start of the answer's body, already bounded by the caller. */
  bodyExcerpt?: string | undefined;
}

/**
 * An Events API answer that was not a success, or a transport failure talking
 * to the Events API. Base of {@linkcode AuthError},
 * {@linkcode BadRequestError} and {@linkcode TransientError}; other statuses
 * (404, 409, …) arrive as this class itself and are not retried.
 */
export class EventsApiError extends Error {
  /** HTTP status, or `undefined` when no answer arrived. */
  readonly status: number | undefined;
  /** Machine-readable code, e.g. `invalid_auth`, `bad_request`, `network`. */
  readonly code: string;
  /** At most {@linkcode BODY_EXCERPT_LIMIT} characters of the answer's body. */
  readonly bodyExcerpt: string;

  /** Creates the error; `message` must never contain a token. */
  constructor(message: string, options?: EventsApiErrorOptions) {
    options ??= {};
    super(message, options);
    this.name = "EventsApiError";
    this.status = options.status;
    this.code = options.code ?? "http_error";
    this.bodyExcerpt = options.bodyExcerpt ?? "";
  }
}

/** How many characters of an error body an {@linkcode EventsApiError} keeps. */
export const BODY_EXCERPT_LIMIT = 512;

/** 401 or 403: the token is missing, invalid, expired or lacks a scope. */
export class AuthError extends EventsApiError {
  /** Creates the error. */
  constructor(message: string, options?: EventsApiErrorOptions) {
    super(message, options);
    this.name = "AuthError";
  }
}

/** 400: the request itself is wrong (bad name, bad JSON); retrying cannot help. */
export class BadRequestError extends EventsApiError {
  /** Creates the error. */
  constructor(message: string, options?: EventsApiErrorOptions) {
    super(message, options);
    this.name = "BadRequestError";
  }
}

/** Options of {@linkcode TransientError}. */
export interface TransientErrorOptions extends EventsApiErrorOptions {
  /** Milliseconds the server asked us to wait (`Retry-After`), if it said. */
  retryAfter?: number | undefined;
}

/**
 * A failure worth retrying: 5xx, 429, a network error, or a stream that
 * ended. `retryAfter` carries the server's `Retry-After` in milliseconds.
 */
export class TransientError extends EventsApiError {
  /** Milliseconds to wait at least before retrying, when the server said so. */
  readonly retryAfter: number | undefined;

  /** Creates the error. */
  constructor(message: string, options?: TransientErrorOptions) {
    options ??= {};
    super(message, options);
    this.name = "TransientError";
    this.retryAfter = options.retryAfter;
  }
}

/** The `error` object of a failed response envelope. */
export interface ResponseErrorBody {
  /** Machine-readable error code chosen by the worker. */
  code: string;
  /** Human-readable description. */
  message: string;
}

/** Characters of a malformed `error` value a {@linkcode ResponseError}'s message quotes. */
const MALFORMED_ERROR_EXCERPT = 200;

/**
 * The code of a {@linkcode ResponseError} made from an `error` that is an
 * object without a string `code` or `message`.
 */
export const MALFORMED_ERROR_CODE = "malformed_error";

/**
 * Reads a response envelope's `error` as the wire gives it. `null`, a
 * missing field or any non-object is no error at all: Go's encoding/json
 * writes `"error": null` for a nil error, and a success must not turn into
 * a failure (or a crash) for it. An object that is not `{code, message}`
 * with both strings still is an error, but says so instead of its message:
 * code {@linkcode MALFORMED_ERROR_CODE} (unless it had a string `code`) and a
 * message quoting what came (bounded). A well-formed `error` is returned as
 * it is (the same object).
 */
export function responseErrorOf(error: unknown): ResponseErrorBody | undefined {
  if (error === null || typeof error !== "object" || Array.isArray(error)) return undefined;
  const { code, message } = error as Record<string, unknown>;
  // The object itself when well-formed: callers tell by identity that it came so.
  if (typeof code === "string" && typeof message === "string") return error as ResponseErrorBody;
  return malformedErrorBody(error, code);
}

/** The body of a {@linkcode ResponseError} for an `error` that is not `{code, message}`. */
function malformedErrorBody(error: unknown, code?: unknown): ResponseErrorBody {
  return {
    code: typeof code === "string" ? code : MALFORMED_ERROR_CODE,
    message: `Cannot read error response: expected {code, message} strings, got ${
      quoteBounded(error)
    }`,
  };
}

/** `value` as JSON, cut at {@linkcode MALFORMED_ERROR_EXCERPT} characters. */
function quoteBounded(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > MALFORMED_ERROR_EXCERPT
    ? `${text.slice(0, MALFORMED_ERROR_EXCERPT)}…`
    : text;
}

/**
 * A request was answered with an error response envelope
 * (`error: { code, message }`).
 */
export class ResponseError extends Error {
  /** The worker's error code. */
  readonly code: string;
  /** Correlation ID of the request this answers. */
  readonly correlationId: string | undefined;
  /** `source` of the response envelope: which worker answered. */
  readonly source: string | undefined;

  /**
   * Creates the error from a response envelope's `error`. A value that is
   * not `{code, message}` (a responder's bug) makes an error that says so,
   * with code `malformed_error`, rather than a `TypeError`.
   */
  constructor(
    error: ResponseErrorBody,
    context?: { correlationId?: string | undefined; source?: string | undefined },
    options?: ErrorOptions,
  ) {
    const body = responseErrorOf(error) ?? malformedErrorBody(error);
    super(body.message, options);
    this.name = "ResponseError";
    this.code = body.code;
    this.correlationId = context?.correlationId;
    this.source = context?.source;
  }

  /** The wire form of this error, for publishing it in a response envelope. */
  toJSON(): ResponseErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** No response arrived for a request within its timeout. */
export class RequestTimeoutError extends Error {
  /** Correlation ID of the request that timed out. */
  readonly correlationId: string;
  /** The timeout that ran out, in milliseconds. */
  readonly timeout: number;

  /** Creates the error. */
  constructor(correlationId: string, timeout: number, options?: ErrorOptions) {
    super(`Cannot get a response: none arrived within ${timeout} ms`, options);
    this.name = "RequestTimeoutError";
    this.correlationId = correlationId;
    this.timeout = timeout;
  }
}

/** Options of {@linkcode StreamProtocolError}: what exceeded which bound. */
export interface StreamProtocolErrorOptions extends ErrorOptions {
  /** The stream's framing (the same values as `StreamFraming`). */
  framing: "ndjson" | "sse";
  /**
   * What was too large: one line, or (SSE) one event's data lines together.
   *
   * @default {"line"}
   */
  oversized?: "line" | "event" | undefined;
  /** The bound that was exceeded: the decoder's `maxLineBytes`. */
  limit: number;
  /** UTF-8 bytes of the line or event read when the decoder stopped, if known. */
  size?: number | undefined;
}

/**
 * A transport's byte stream broke its framing in a way that cannot be
 * skipped; it ends that connection, and the listener reconnects as for a
 * disconnect. The HTTP transport's decoders never throw it: NDJSON and SSE
 * can always resynchronise at the next line end, so a line or SSE event over
 * `maxLineBytes` is skipped and reported to `onInvalid` (kind `too-large`)
 * instead. It stays for transports whose framing cannot resynchronise (a
 * length-prefixed frame whose length cannot be trusted, say).
 *
 * @example What the error carries
 * ```ts
 * import { StreamProtocolError } from "@bus/integration";
 *
 * const error = new StreamProtocolError({ framing: "sse", limit: 1048576, size: 1048577 });
 * error.message; // "Cannot read stream: an SSE line exceeds maxLineBytes (1048576)"
 * error.limit; // 1048576: raise the client's maxLineBytes above error.size to accept it
 * ```
 */
export class StreamProtocolError extends Error {
  /** The stream's framing. */
  readonly framing: "ndjson" | "sse";
  /** What was too large: one line, or (SSE) one event's data. */
  readonly oversized: "line" | "event";
  /** The `maxLineBytes` bound that was exceeded, in UTF-8 bytes. */
  readonly limit: number;
  /**
   * UTF-8 bytes of the oversized line or event read before the decoder
   * stopped: more than `limit`, and less than the whole line when the
   * decoder stopped before its end. `undefined` when the thrower did not know.
   */
  readonly size: number | undefined;

  /** Creates the error; the message names the framing, the part and the bound. */
  constructor(options: StreamProtocolErrorOptions) {
    const oversized = options.oversized ?? "line";
    super(
      `Cannot read stream: ${
        options.framing === "sse" ? "an SSE" : "an NDJSON"
      } ${oversized} exceeds maxLineBytes (${options.limit})`,
      options,
    );
    this.name = "StreamProtocolError";
    this.framing = options.framing;
    this.oversized = oversized;
    this.limit = options.limit;
    this.size = options.size;
  }
}

/** Options of {@linkcode NonRetryableError}. */
export interface NonRetryableErrorOptions extends ErrorOptions {
  /**
   * Machine-readable code: the `code` of the requester's error response and
   * of the dead letter (e.g. `invalid_payload`).
   *
   * @default {"handler_failed", in the response}
   */
  code?: string | undefined;
}

/**
 * Thrown by a handler (or a middleware) for a failure that no retry can
 * heal — a malformed payload, a missing record. The worker's retry policy
 * never retries it: the event is dead-lettered at once and, when it has a
 * `correlationId`, answered with an error response carrying `code`.
 *
 * @example Refuse a payload without retrying
 * ```ts
 * import { NonRetryableError, type WorkerHandler } from "@bus/integration";
 *
 * const handler: WorkerHandler = async (event, publisher) => {
 *   const { name } = event.payload as { name?: string };
 *   if (!name) throw new NonRetryableError("payload.name is empty", { code: "invalid_payload" });
 *   await publisher.reply({ greeting: `Hello, ${name}!` });
 * };
 * ```
 */
export class NonRetryableError extends Error {
  /** The error code for the response and the dead letter, when one was given. */
  readonly code: string | undefined;

  /** Creates the error. */
  constructor(message: string, options?: NonRetryableErrorOptions) {
    options ??= {};
    super(message, options);
    this.name = "NonRetryableError";
    this.code = options.code;
  }
}

/** A configuration value (usually an environment variable) is invalid. */
export class ConfigError extends Error {
  /** The variable or option name, e.g. `BUS_EVENTS_LISTENER_RETRY_MIN`. */
  readonly variable: string;
  /** The bad value as given (never a token). */
  readonly value: string | undefined;

  /** Creates the error; the message names the variable and the value. */
  constructor(
    variable: string,
    value: string | undefined,
    expected: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot use ${variable}: current value is ${
        value === undefined ? "unset" : JSON.stringify(value)
      }, expected ${expected}`,
      options,
    );
    this.name = "ConfigError";
    this.variable = variable;
    this.value = value;
  }
}

/**
 * A request was made on, or was pending when, a requester closed. When the
 * requester closed because its response listener failed, requests reject
 * with that failure instead.
 */
export class RequesterClosedError extends Error {
  /** Creates the error. */
  constructor(options?: ErrorOptions) {
    super("Cannot get a response: the requester is closed", options);
    this.name = "RequesterClosedError";
  }
}

/**
 * A scatter-gather request ended at its timeout with fewer responses than
 * `minResponses` (with expected responders: fewer of them answered).
 * Carries what did arrive and who stayed silent.
 */
export class GatherTimeoutError extends RequestTimeoutError {
  /** Expected responders that did not answer. */
  readonly missing: readonly string[];
  /** How many responses arrived (repeats and unexpected sources too). */
  readonly received: number;

  /**
   * Creates the error; the message lists the silent responders.
   *
   * @param answered How many distinct expected responders answered, when
   * responders were expected: what `minResponses` counted, and what the
   * message then reports instead of `received`.
   */
  constructor(
    correlationId: string,
    timeout: number,
    missing: readonly string[],
    received: number,
    minResponses: number,
    answered?: number,
  ) {
    super(correlationId, timeout);
    this.name = "GatherTimeoutError";
    const counted = answered === undefined
      ? `${received} of at least ${minResponses} arrived`
      : `${answered} of at least ${minResponses} expected responders answered`;
    this.message = `Cannot gather responses: ${counted} within ${timeout} ms${
      missing.length > 0 ? `; no answer from ${missing.join(", ")}` : ""
    }`;
    this.missing = missing;
    this.received = received;
  }
}

/**
 * One registration of a `Host` failed fatally (an `AuthError` without token
 * refresh, a `BadRequestError`, a `run()` that threw); the host stopped the
 * others and rejects with this. `cause` holds the registration's error.
 */
export class RegistrationError extends Error {
  /** The name of the registration that failed. */
  readonly registration: string;

  /** Creates the error; the message names the registration and the cause. */
  constructor(registration: string, cause: unknown) {
    super(`Cannot keep running registration "${registration}": ${describeError(cause)}`, {
      cause,
    });
    this.name = "RegistrationError";
    this.registration = registration;
  }
}
