/**
 * Testing a worker over real HTTP: the reference Events API serves on a
 * free loopback port, and the worker and a requester talk to it as they
 * would to the real server:
 * `deno test --allow-net=127.0.0.1 examples/testing/echo_loopback_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EventsClient, Requester, runRegistration } from "../../mod.ts"; // "@bus/integration"
import { createEventsApi } from "../../testing.ts"; // "@bus/integration/testing"
import echo from "../echo_worker.ts";

Deno.test("the echo worker answers over loopback HTTP", async () => {
  const api = createEventsApi();
  const served = await api.serve();
  const client = new EventsClient({ baseUrl: served.url, token: await api.mintToken() });
  const stop = new AbortController();
  const worker = runRegistration(echo, { transport: client, signal: stop.signal });
  const requester = new Requester({ transport: client, responseNames: ["example.echo.response"] });
  try {
    assert.deepEqual(await requester.request("example.echo.request", 42, { timeout: 5_000 }), {
      echo: 42,
    });
  } finally {
    stop.abort();
    await requester.close();
    await worker;
    await api.close();
  }
});
