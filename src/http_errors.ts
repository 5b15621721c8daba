/**
 * Turns a non-2xx Events API answer into the error class callers branch on.
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  AuthError,
  BadRequestError,
  BODY_EXCERPT_LIMIT,
  EventsApiError,
  TransientError,
} from "./errors.ts";

/**
 * Parses a `Retry-After` value (delta-seconds or an HTTP date) into
 * milliseconds from `now`; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) opens with a day
  // name; without this, V8's lenient parser reads "1.5" as a date in 2001.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Enough of an error body to parse the contract's JSON error; the rest is dropped. */
const ERROR_BODY_READ_LIMIT = 16 * 1024;

/**
 * Longest wait for an error body's excerpt, in ms: 2 s. The status alone
 * classifies the answer (a 503 is retried whatever its body says), so the
 * body is only worth a short wait; a proxy that sends the headers of a 5xx
 * or 429 and then stalls must not hold a listener (or a publish) for ever,
 * as no `fetch` times out a body by itself. 2 s is well above what a
 * healthy server needs to send a few KiB it has ready, and small against
 * the reconnect backoff that follows.
 */
export const ERROR_BODY_WAIT = 2_000;

/**
 * Reads at most {@linkcode ERROR_BODY_READ_LIMIT} characters, for at most
 * {@linkcode ERROR_BODY_WAIT} ms, and releases the body: what arrived by
 * then is the excerpt.
 */
async function readErrorBody(response: Response): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ERROR_BODY_WAIT, undefined);
  });
  try {
    while (text.length < ERROR_BODY_READ_LIMIT) {
      const chunk = await Promise.race([reader.read(), expired]);
      if (chunk === undefined || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch {
    // A body that breaks while we read an error excerpt changes nothing.
  } finally {
    clearTimeout(timer);
    // Also ends a read still waiting on a stalled body (and its connection).
    reader.cancel().catch(() => {});
  }
  return text.slice(0, ERROR_BODY_READ_LIMIT);
}

/** The `{"error": {"type", "message"}}` body of the contract, when it is one. */
function errorBody(text: string): { type?: string | undefined; message?: string | undefined } {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    const error = parsed?.error;
    if (error !== null && typeof error === "object") {
      const { type, message } = error as Record<string, unknown>;
      return {
        type: typeof type === "string" ? type : undefined,
        message: typeof message === "string" ? message : undefined,
      };
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): the excerpt alone is kept.
  }
  return {};
}

/**
 * Collapses every run of whitespace and control characters (CR, LF, tabs,
 * escape sequences) into one space and trims the ends: an HTML error page
 * becomes one line, so a log entry that quotes it stays one line.
 */
function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\s\x00-\x1f\x7f]+/g, " ").trim();
}

/**
 * Builds the error for a non-2xx `response`, consuming its body. The
 * excerpt and the message's detail are one line each (see
 * {@linkcode oneLine}) and bounded. `redact`
 * removes secrets (the token) from anything the server echoed back.
 */
export async function errorForResponse(
  response: Response,
  action: string,
  redact: (text: string) => string,
): Promise<EventsApiError> {
  const text = redact(await readErrorBody(response));
  const body = errorBody(text);
  const excerpt = oneLine(text).slice(0, BODY_EXCERPT_LIMIT);
  const status = response.status;
  const detail = (body.message === undefined ? excerpt : oneLine(body.message)).slice(0, 200) ||
    response.statusText;
  const message = `Cannot ${action}: Events API answered ${status}${
    body.type ? ` ${body.type}` : ""
  }${detail ? `: ${detail}` : ""}`;
  const options = { status, bodyExcerpt: excerpt };
  if (status === 401 || status === 403) {
    return new AuthError(message, {
      ...options,
      code: body.type ?? (status === 401 ? "invalid_auth" : "forbidden"),
    });
  }
  if (status === 400) {
    return new BadRequestError(message, { ...options, code: body.type ?? "bad_request" });
  }
  if (status === 429 || status >= 500) {
    return new TransientError(message, {
      ...options,
      code: body.type ?? (status === 429 ? "rate_limited" : "unavailable"),
      retryAfter: parseRetryAfter(response.headers.get("retry-after")),
    });
  }
  return new EventsApiError(message, { ...options, code: body.type ?? "http_error" });
}
