/**
 * How errors appear in log records: `name: message` inside a rendered
 * message, and structured fields (`{name, message, code?, cause?,
 * stack?}`) in a record's properties — never `{}`, which is what
 * `JSON.stringify` makes of an `Error`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { describeError } from "./errors.ts";
import { valueText } from "./failure_cause.ts";

/** An error as structured log fields. */
export interface ErrorFields {
  /** The class name, e.g. `AuthError`. */
  name: string;
  /** The message (the library's never carry a token). */
  message: string;
  /** The error's machine-readable `code`, when it has a string or number one. */
  code?: string | number;
  /** The HTTP status, when the error carries one (`EventsApiError`). */
  status?: number;
  /**
   * What caused it, as fields too; a non-error cause as a text line shows
   * a value (a string as it is, anything else as JSON), at most
   * `MAX_CAUSE_TEXT` characters.
   */
  cause?: ErrorFields | string;
  /** The stack trace, only when asked for (debug level). */
  stack?: string;
}

/** Options of {@linkcode errorFields}. */
export interface ErrorFieldsOptions {
  /**
   * Whether to include the stack traces.
   *
   * @default {false}
   */
  stack?: boolean | undefined;
}

/** How deep a `cause` chain is followed. */
const MAX_CAUSES = 4;

/**
 * The longest text a non-error `cause` is logged as: such a cause is any
 * object a library threw with, possibly a whole response.
 */
const MAX_CAUSE_TEXT = 1000;

/** `error` as {@linkcode ErrorFields}; see the module doc. */
export function errorFields(
  error: Error,
  options: ErrorFieldsOptions = {},
  depth = 0,
): ErrorFields {
  const fields: ErrorFields = { name: error.name, message: error.message };
  const { code, status, cause } = error as Error & Record<string, unknown>;
  if (typeof code === "string" || typeof code === "number") fields.code = code;
  if (typeof status === "number") fields.status = status;
  if (cause !== undefined && cause !== null && depth < MAX_CAUSES) {
    fields.cause = cause instanceof Error
      ? errorFields(cause, options, depth + 1)
      : causeText(cause);
  }
  if (options.stack && error.stack !== undefined) fields.stack = error.stack;
  return fields;
}

/**
 * A non-error cause as the text line shows a value ({@linkcode messageText}):
 * `String()` made `[object Object]` of Node's `{ code, address }` causes,
 * while the text line said `ECONNREFUSED 127.0.0.1`. An object JSON cannot
 * write (a cycle, a bigint) keeps its own plain fields, which are what
 * says what went wrong (`code`, `address`, `port`).
 */
function causeText(cause: unknown): string {
  let text = messageText(cause);
  if (typeof cause === "object" && cause !== null && text === String(cause)) {
    const plain = Object.entries(cause).filter(([, value]) =>
      typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    );
    if (plain.length > 0) text = JSON.stringify(Object.fromEntries(plain));
  }
  return text.length > MAX_CAUSE_TEXT ? `${text.slice(0, MAX_CAUSE_TEXT)}…` : text;
}

/**
 * A property value as it should be logged as JSON: an `Error` as
 * {@linkcode ErrorFields}, anything else as it is.
 */
export function loggableValue(value: unknown, options: ErrorFieldsOptions = {}): unknown {
  return value instanceof Error ? errorFields(value, options) : value;
}

/**
 * A value as it reads inside a rendered log message: a string as it is,
 * an `Error` as `name: message` (with its cause, see `describeError`),
 * anything else as JSON (or its string when JSON cannot say it).
 */
export function messageText(value: unknown): string {
  return value instanceof Error ? describeError(value) : valueText(value);
}

/** Secrets shorter than this are not redacted: a 1-character "token" would blank every text. */
const SHORTEST_SECRET = 4;

/**
 * `text` with every occurrence of each of `secrets` replaced by
 * `[redacted]`, also as JSON writes it (with `"` and `\` escaped), since
 * reports and log lines are often JSON. For the texts the library does not
 * make itself and so cannot keep clean: a handler's error quoting a
 * request's headers, a server's answer.
 *
 * @example
 * ```ts ignore
 * redactSecrets("failed with token abc123", ["abc123"]); // "failed with token [redacted]"
 * ```
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  for (const secret of secrets) {
    if (secret.length >= SHORTEST_SECRET) text = redactSecret(text, secret);
  }
  return text;
}

/**
 * `text` with every occurrence of `secret` replaced by `[redacted]`, as it
 * is and as JSON may write it (`"` and `\` escaped; a server that answers
 * `AbC\/dEf` echoes the token `AbC/dEf`); `text` as it is when there is no
 * secret. Unlike
 * {@linkcode redactSecrets}, for a secret known to be one (the token a
 * request sent), however short.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  const escaped = JSON.stringify(secret).slice(1, -1);
  // JSON may also write "/" as "\/" (PHP's json_encode does, by default).
  for (const form of new Set([secret, escaped, escaped.replaceAll("/", "\\/")])) {
    text = text.split(form).join("[redacted]");
  }
  return text;
}
