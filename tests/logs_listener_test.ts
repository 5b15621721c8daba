/**
 * The listener's log lines: the reconnect warning names the URL it dials
 * (no credentials) and the cause of the failure; a fatal stop is left to
 * the caller, which gets the error (debug only here).
 */
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { EventsClient, listen } from "../mod.ts";
import { startServer } from "./_server.ts";
import { until } from "./_poll.ts";
import { captureLogs } from "./_log_capture.ts";
import { freePort } from "./_nats_server.ts";

/** Listens until the first reconnect warning, then stops; returns that record. */
async function firstWarning(client: EventsClient, tokenRefresh = false): Promise<LogRecord> {
  await using records = await captureLogs("debug", ["bus-integration", "listener"]);
  const controller = new AbortController();
  const listening = listen({
    transport: client,
    stream: { name: "job.run.request" },
    onEvent: () => {},
    reconnect: { min: 60_000, max: 60_000 },
    tokenRefresh,
    signal: controller.signal,
  });
  try {
    await until(() => records.some((record) => record.level === "warning"), 10_000, "a warning");
  } finally {
    controller.abort();
    await listening;
  }
  return records.find((record) => record.level === "warning")!;
}

Deno.test("listen() warns of a reconnect with the URL and ECONNREFUSED", async () => {
  const port = await freePort();
  const warning = await firstWarning(
    new EventsClient({ baseUrl: `http://127.0.0.1:${port}`, token: "t" }),
  );
  assert.equal(
    warning.rawMessage,
    "Listener for {name} on {url} reconnecting in {wait} ms: {error}",
  );
  assert.equal(warning.properties.url, `http://127.0.0.1:${port}/api/v1/events`);
  assert.equal(
    warning.properties.error,
    `TransientError: Cannot open stream: the network request failed (ECONNREFUSED 127.0.0.1:${port})`,
  );
});

Deno.test("listen() warns of a reconnect after a refused token with 401 invalid_auth", async () => {
  await using server = await startServer();
  const warning = await firstWarning(server.newClient({ token: () => "wrong" }), true);
  assert.equal(warning.properties.url, `${server.served.url}/api/v1/events`);
  assert.match(
    String(warning.properties.error),
    /^AuthError: Cannot open stream: Events API answered 401 invalid_auth: /,
  );
});

Deno.test("listen() logs a fatal stop at debug only and rejects with the error", async () => {
  await using server = await startServer();
  await using records = await captureLogs("debug", ["bus-integration", "listener"]);
  await assert.rejects(
    listen({
      transport: server.newClient({ token: "wrong" }),
      stream: { name: "job.run.request" },
      onEvent: () => {},
    }),
    (error) => (error as Error).name === "AuthError",
  );
  const stops = records.filter((record) => /stopped: /.test(String(record.rawMessage)));
  assert.deepEqual(stops.map((record) => record.level), ["debug"]);
  assert.equal(records.filter((record) => record.level === "error").length, 0);
});
