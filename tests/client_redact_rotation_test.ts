/**
 * With a token provider that rotates, concurrent requests each send their
 * own token; an error answer that echoes it must be redacted of the token
 * that request sent, even when another request fetched a newer one before
 * the answer came. Over real HTTP, with a server that holds the first
 * answer until the second request arrived.
 */
import assert from "node:assert/strict";
import { EventsApiError, EventsClient, listenAll } from "../mod.ts";
import { captureLogs } from "./_log_capture.ts";
import { scriptedServer, untilReal } from "./_scripted_server.ts";

const TOKEN = /secret-token-\d/;

/** A server answering 401 with the request's own Authorization echoed, the first answer last. */
function echoingServer() {
  let secondArrived!: () => void;
  const arrived = new Promise<void>((resolve) => secondArrived = resolve);
  return scriptedServer(async (n, request) => {
    if (n === 0) await arrived;
    else secondArrived();
    const auth = request.headers.get("authorization") ?? "";
    return new Response(
      JSON.stringify({ error: { type: "invalid_auth", message: `token rejected: ${auth}` } }),
      { status: 401, headers: { "content-type": "application/json" } },
    );
  });
}

/** A client whose provider hands out a new token per request. */
function rotatingClient(url: string): EventsClient {
  let issued = 0;
  return new EventsClient({ baseUrl: url, token: () => `secret-token-${++issued}` });
}

function assertRedacted(error: unknown): void {
  assert.ok(error instanceof EventsApiError, String(error));
  assert.doesNotMatch(error.message, TOKEN);
  assert.doesNotMatch(error.bodyExcerpt, TOKEN);
  assert.match(error.message, /token rejected: Bearer \[redacted\]/);
}

Deno.test("EventsClient.open() redacts its own token from a 401 that arrives after the token rotated", async () => {
  await using server = echoingServer();
  const client = rotatingClient(server.url);
  const errors = await Promise.all([
    client.open({ name: "redact.a" }).catch((error) => error),
    client.open({ name: "redact.b" }).catch((error) => error),
  ]);
  errors.forEach(assertRedacted);
  assert.deepEqual(
    server.requests.map((request) => request.headers.get("authorization")).sort(),
    ["Bearer secret-token-1", "Bearer secret-token-2"],
    "each request sent its own token",
  );
});

Deno.test("EventsClient.publish() redacts its own token from a 401 that arrives after the token rotated", async () => {
  await using server = echoingServer();
  const client = rotatingClient(server.url);
  const errors = await Promise.all([
    client.publish({ name: "redact.a" }).catch((error) => error),
    client.publish({ name: "redact.b" }).catch((error) => error),
  ]);
  errors.forEach(assertRedacted);
});

Deno.test("listenAll() warnings about a rotated token's 401 carry no token", async () => {
  await using logs = await captureLogs("debug");
  await using server = echoingServer();
  const stop = new AbortController();
  const listening = listenAll({
    transport: rotatingClient(server.url),
    streams: [{ name: "redact.a" }, { name: "redact.b" }],
    tokenRefresh: true,
    reconnect: { min: 60_000, max: 60_000 },
    signal: stop.signal,
    onEvent: () => {},
  });
  const reconnecting = () => logs.filter((record) => record.level === "warning");
  try {
    await untilReal(() => reconnecting().length === 2, "both listeners' reconnect warnings");
  } finally {
    stop.abort();
    await listening;
  }
  const text = logs.map((record) => JSON.stringify([record.message, record.properties]));
  assert.deepEqual(text.filter((line) => TOKEN.test(line)), [], "no record carries a token");
  for (const record of reconnecting()) {
    assert.match(String(record.properties.error), /token rejected: Bearer \[redacted\]/);
  }
});

Deno.test("EventsClient redacts its token from an error answer that JSON-escapes it", async () => {
  // Valid JSON for the same string: PHP's json_encode writes every "/" as "\/".
  const token = "AbC/dEf+GhI/jKl==";
  await using server = scriptedServer((_n, request) => {
    const escaped = JSON.stringify(request.headers.get("authorization") ?? "")
      .slice(1, -1).replaceAll("/", "\\/");
    return new Response(
      `{"error":{"type":"invalid_auth","message":"token expired: ${escaped}"}}`,
      { status: 401, headers: { "content-type": "application/json" } },
    );
  });
  const client = new EventsClient({ baseUrl: server.url, token });
  const error = await client.open({ name: "redact.escaped" }).catch((error) => error);
  assert.ok(error instanceof EventsApiError, String(error));
  assert.match(error.message, /token expired: Bearer \[redacted\]/);
  for (const text of [error.message, error.bodyExcerpt]) {
    assert.ok(!text.includes(token) && !text.includes("AbC\\/dEf"), text);
  }
});
