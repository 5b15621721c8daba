/**
 * `Requester.waitReady()`: resolves once the response listener is up, and
 * rejects with what stopped it for good (a 403 on the response name), with
 * `RequesterClosedError` after `close()`, or with the caller's abort. Over
 * the reference server on loopback.
 */
import assert from "node:assert/strict";
import { AuthError, Requester, RequesterClosedError } from "../mod.ts";
import { startServer } from "./_server.ts";

const RESPONSE = "ready.check.response";

Deno.test("Requester.waitReady() resolves once its response listener is up", async () => {
  await using server = await startServer();
  await using requester = new Requester({ transport: server.client, responseNames: [RESPONSE] });
  await requester.waitReady();
  assert.equal(requester.readiness.ready, true);
  await requester.waitReady(); // ready already: at once
});

Deno.test("Requester.waitReady() rejects with the AuthError that stopped its listener", async () => {
  await using server = await startServer({
    resourceScopes: { [RESPONSE]: { read: "secret:read", write: "events:send" } },
  });
  await using requester = new Requester({ transport: server.client, responseNames: [RESPONSE] });
  const error = await requester.waitReady().catch((error: unknown) => error);
  assert.ok(error instanceof AuthError, String(error));
  assert.equal(error.status, 403);
  // Asked again later, it says the same at once.
  assert.equal(await requester.waitReady().catch((error: unknown) => error), error);
});

Deno.test("Requester.waitReady() rejects after close(), and with the caller's abort reason", async () => {
  await using server = await startServer();
  const requester = new Requester({ transport: server.client, responseNames: [RESPONSE] });
  const reason = new Error("gave up");
  const aborted = requester.waitReady(AbortSignal.abort(reason)).catch((error: unknown) => error);
  assert.equal(await aborted, reason);
  await requester.close();
  assert.ok(
    (await requester.waitReady().catch((error: unknown) => error)) instanceof RequesterClosedError,
  );
});
