/**
 * `parseRetryAfter` and `errorForResponse`: mapping non-2xx Events API
 * answers to the library's error classes, on built responses and on the
 * reference server's real answers over loopback HTTP.
 */
import assert from "node:assert/strict";
import {
  AuthError,
  BadRequestError,
  BODY_EXCERPT_LIMIT,
  EventsApiError,
  TransientError,
} from "../src/errors.ts";
import { errorForResponse, parseRetryAfter } from "../src/http_errors.ts";
import { startServer } from "./_server.ts";

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const keep = (text: string) => text;

/** The contract's JSON error body. */
function contractBody(type: string, message: string): string {
  return JSON.stringify({ error: { type, message } });
}

Deno.test("parseRetryAfter() returns milliseconds when the value is delta-seconds", () => {
  assert.equal(parseRetryAfter("0", NOW), 0);
  assert.equal(parseRetryAfter("7", NOW), 7_000);
  assert.equal(parseRetryAfter("120", NOW), 120_000);
});

Deno.test("parseRetryAfter() ignores surrounding whitespace", () => {
  assert.equal(parseRetryAfter("  30\t", NOW), 30_000);
  assert.equal(parseRetryAfter(" Wed, 01 Jan 2025 12:00:05 GMT ", NOW), 5_000);
});

Deno.test("parseRetryAfter() returns the time until an HTTP date in the future", () => {
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 12:01:30 GMT", NOW), 90_000);
});

Deno.test("parseRetryAfter() returns 0 when the HTTP date has passed", () => {
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 11:59:00 GMT", NOW), 0);
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW), 0);
});

Deno.test("parseRetryAfter() measures from Date.now() when no time is given", () => {
  const inOneHour = new Date(Date.now() + 3_600_000).toUTCString();
  const wait = parseRetryAfter(inOneHour);
  assert.ok(wait !== undefined && wait > 3_590_000 && wait <= 3_600_000, `wait ${wait}`);
});

Deno.test("parseRetryAfter() returns undefined when the header is absent, empty or garbage", () => {
  assert.equal(parseRetryAfter(null, NOW), undefined);
  assert.equal(parseRetryAfter("", NOW), undefined);
  assert.equal(parseRetryAfter("   ", NOW), undefined);
  assert.equal(parseRetryAfter("soon", NOW), undefined);
  assert.equal(parseRetryAfter("12abc", NOW), undefined);
  assert.equal(parseRetryAfter("1e3", NOW), undefined);
});

// V8's lenient `Date.parse` reads "1.5" and "-5" as dates in 2001; they are
// neither delta-seconds nor an HTTP date, so they are unreadable.
Deno.test("parseRetryAfter() returns undefined when the value is a fraction or negative", () => {
  assert.equal(parseRetryAfter("1.5", NOW), undefined);
  assert.equal(parseRetryAfter("-5", NOW), undefined);
  assert.equal(parseRetryAfter("2026-12-01", NOW), undefined, "ISO dates are not HTTP dates");
});

Deno.test("errorForResponse() maps each status class to its error class and default code", async () => {
  const cases: [number, new (...args: never[]) => EventsApiError, string][] = [
    [400, BadRequestError, "bad_request"],
    [401, AuthError, "invalid_auth"],
    [403, AuthError, "forbidden"],
    [404, EventsApiError, "http_error"],
    [409, EventsApiError, "http_error"],
    [429, TransientError, "rate_limited"],
    [500, TransientError, "unavailable"],
    [503, TransientError, "unavailable"],
  ];
  for (const [status, kind, code] of cases) {
    const error = await errorForResponse(new Response("", { status }), "publish event", keep);
    assert.equal(error.constructor, kind, `status ${status}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code, `status ${status}`);
    assert.equal(error.bodyExcerpt, "");
  }
});

Deno.test("errorForResponse() takes code and message from the contract body's error", async () => {
  const error = await errorForResponse(
    new Response(contractBody("token_expired", "the token expired at 12:00"), { status: 401 }),
    "open stream",
    keep,
  );
  assert.ok(error instanceof AuthError);
  assert.equal(error.name, "AuthError");
  assert.equal(error.code, "token_expired");
  assert.equal(
    error.message,
    "Cannot open stream: Events API answered 401 token_expired: the token expired at 12:00",
  );
  assert.equal(error.bodyExcerpt, contractBody("token_expired", "the token expired at 12:00"));
});

Deno.test("errorForResponse() falls back to the status text when the body is empty", async () => {
  const error = await errorForResponse(
    new Response(null, { status: 503, statusText: "Service Unavailable" }),
    "publish event",
    keep,
  );
  assert.equal(error.message, "Cannot publish event: Events API answered 503: Service Unavailable");
  assert.equal(error.bodyExcerpt, "");
});

Deno.test("errorForResponse() keeps a non-JSON body as excerpt and message detail", async () => {
  const html = "  <html><body>502 Bad Gateway</body></html>\n";
  const error = await errorForResponse(new Response(html, { status: 502 }), "open stream", keep);
  assert.ok(error instanceof TransientError);
  assert.equal(error.code, "unavailable");
  assert.equal(error.bodyExcerpt, "<html><body>502 Bad Gateway</body></html>");
  assert.equal(
    error.message,
    "Cannot open stream: Events API answered 502: <html><body>502 Bad Gateway</body></html>",
  );
});

Deno.test("errorForResponse() makes an HTML error page's excerpt and message one line", async () => {
  // nginx's own 502 page, as a proxy in front of the Events API sends it.
  const html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n" +
    "</body>\r\n</html>\r\n" + "<!-- padding -->\n\t\t".repeat(200);
  const error = await errorForResponse(new Response(html, { status: 502 }), "open stream", keep);
  for (const text of [error.message, error.bodyExcerpt]) {
    assert.doesNotMatch(text, /[\r\n\t]|\s{2}/, JSON.stringify(text));
  }
  assert.ok(
    error.bodyExcerpt.startsWith("<html> <head><title>502 Bad Gateway</title></head> <body>"),
  );
  assert.equal(error.bodyExcerpt.length, BODY_EXCERPT_LIMIT);
  assert.equal(
    error.message,
    `Cannot open stream: Events API answered 502: ${error.bodyExcerpt.slice(0, 200)}`,
  );
  // A contract body's message with line breaks (or a terminal escape) is one line too.
  const body = contractBody("unavailable", "backend down:\n\tretry later\u001b[2J");
  const json = await errorForResponse(new Response(body, { status: 503 }), "publish event", keep);
  assert.equal(
    json.message,
    "Cannot publish event: Events API answered 503 unavailable: backend down: retry later [2J",
  );
});

Deno.test("errorForResponse() ignores a JSON body whose error is not an object", async () => {
  const body = JSON.stringify({ error: "nope" });
  const error = await errorForResponse(new Response(body, { status: 400 }), "publish event", keep);
  assert.equal(error.code, "bad_request");
  assert.equal(error.message, `Cannot publish event: Events API answered 400: ${body}`);
});

Deno.test("errorForResponse() bounds the excerpt and the message detail", async () => {
  const long = "x".repeat(5_000);
  const error = await errorForResponse(new Response(long, { status: 500 }), "publish event", keep);
  assert.equal(error.bodyExcerpt.length, BODY_EXCERPT_LIMIT);
  assert.equal(error.message, `Cannot publish event: Events API answered 500: ${"x".repeat(200)}`);
});

Deno.test("errorForResponse() stops reading and cancels a body that never ends", async () => {
  let pulls = 0;
  let cancelled = false;
  const chunk = new TextEncoder().encode("y".repeat(1024));
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  const error = await errorForResponse(new Response(endless, { status: 500 }), "open", keep);
  assert.equal(error.bodyExcerpt, "y".repeat(BODY_EXCERPT_LIMIT));
  assert.ok(pulls < 64, `read ${pulls} KiB of an error body`);
  assert.equal(cancelled, true);
});

Deno.test("errorForResponse() keeps what arrived when the body breaks mid-read", async () => {
  let pulls = 0;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(new TextEncoder().encode("partial answer"));
      else controller.error(new Error("connection reset"));
    },
  });
  const error = await errorForResponse(new Response(broken, { status: 503 }), "open", keep);
  assert.ok(error instanceof TransientError);
  assert.equal(error.bodyExcerpt, "partial answer");
});

Deno.test("errorForResponse() consumes the response body", async () => {
  const response = new Response(contractBody("bad_request", "no"), { status: 400 });
  await errorForResponse(response, "publish event", keep);
  assert.equal(response.bodyUsed, true);
});

Deno.test("errorForResponse() reads retryAfter from the Retry-After header on transient statuses", async () => {
  const limited = await errorForResponse(
    new Response("", { status: 429, headers: { "retry-after": "3" } }),
    "publish event",
    keep,
  );
  assert.ok(limited instanceof TransientError);
  assert.equal(limited.retryAfter, 3_000);
  const unavailable = await errorForResponse(
    new Response("", { status: 503 }),
    "publish event",
    keep,
  );
  assert.ok(unavailable instanceof TransientError);
  assert.equal(unavailable.retryAfter, undefined);
});

Deno.test("errorForResponse() redacts the secret from the excerpt and the message", async () => {
  const secret = "eyJhbGciOiJIUzI1NiJ9.secret-token.sig";
  const body = contractBody("invalid_auth", `token ${secret} is not valid`);
  const redact = (text: string) => text.split(secret).join("[redacted]");
  const error = await errorForResponse(new Response(body, { status: 401 }), "open stream", redact);
  assert.equal(error.message.includes(secret), false);
  assert.equal(error.bodyExcerpt.includes(secret), false);
  assert.match(error.message, /token \[redacted\] is not valid/);
  assert.match(error.bodyExcerpt, /token \[redacted\] is not valid/);
});

Deno.test("errorForResponse() maps the reference server's 400 answer to BadRequestError", async () => {
  await using server = await startServer();
  const response = await fetch(`${server.served.url}/api/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Not.Valid", payload: {} }),
  });
  const error = await errorForResponse(response, "publish event", keep);
  assert.ok(error instanceof BadRequestError);
  assert.equal(error.status, 400);
  assert.equal(error.code, "bad_request");
  assert.match(error.message, /^Cannot publish event: Events API answered 400 bad_request: /);
  assert.match(error.message, /Not\.Valid/);
});

Deno.test("errorForResponse() redacts the token the reference server echoes in a 401 answer", async () => {
  await using server = await startServer();
  const token = server.token;
  // An injected failure whose body echoes the caller's token, as a
  // misbehaving proxy might.
  server.api.faults.failNext("stream", {
    status: 401,
    body: { error: { type: "invalid_auth", message: `bad token ${token}` } },
  });
  const response = await fetch(`${server.served.url}/api/v1/events/stream?name=demo.x`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const redact = (text: string) => text.split(token).join("[redacted]");
  const error = await errorForResponse(response, "open stream", redact);
  assert.ok(error instanceof AuthError);
  assert.equal(error.code, "invalid_auth");
  assert.equal(
    error.message,
    "Cannot open stream: Events API answered 401 invalid_auth: bad token [redacted]",
  );
  assert.equal(error.bodyExcerpt.includes(token), false);
});

Deno.test("errorForResponse() reads the reference server's Retry-After on a 503 answer", async () => {
  await using server = await startServer();
  server.api.faults.failNext("publish", { status: 503, retryAfter: 9 });
  const response = await fetch(`${server.served.url}/api/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ name: "demo.x" }),
  });
  const error = await errorForResponse(response, "publish event", keep);
  assert.ok(error instanceof TransientError);
  assert.equal(error.status, 503);
  assert.equal(error.retryAfter, 9_000);
});
