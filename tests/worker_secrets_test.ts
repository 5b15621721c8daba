/**
 * A worker's `secrets` (a Host passes its own) are removed from what it
 * publishes and exports about a failure: the error response, the dead
 * letter (reason, message, stack) and the `process` span's status. A
 * handler's error may quote a request, headers and all. Over the reference
 * server on loopback, with an in-memory OpenTelemetry SDK.
 */
import assert from "node:assert/strict";
import { type DeadLetterPayload, Host, Requester, ResponseError, runWorker } from "../mod.ts";
import { installOtel } from "./_otel.ts";
import { retained, startServer } from "./_server.ts";
import { startWorker } from "./_worker_run.ts";

const NAME = "secret.leak.request";
const SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c";

const quoting = () => {
  throw new Error(`upstream refused: Authorization: Bearer ${SECRET}`);
};

Deno.test("runWorker({ secrets }) redacts the error response, the dead letter and the span", async () => {
  await using otel = installOtel();
  await using server = await startServer();
  await using worker = startWorker({
    transport: server.client,
    names: [NAME],
    secrets: [SECRET],
    deadLetter: { includeStack: true },
    handler: quoting,
  });
  await using requester = new Requester({
    transport: server.client,
    responseNames: ["secret.leak.response"],
  });
  await Promise.all([worker.readiness.waitReady(), requester.readiness.waitReady()]);
  const error = await requester.request(NAME, {}).catch((error: Error) => error) as Error;
  assert.ok(error instanceof ResponseError, String(error));
  assert.equal(error.message, "upstream refused: Authorization: Bearer [redacted]");
  await worker.stop();

  const [letter] = await retained(server, `${NAME}.dead-letter`);
  const payload = letter!.payload as DeadLetterPayload;
  assert.equal(payload.error.message, "upstream refused: Authorization: Bearer [redacted]");
  assert.match(payload.error.stack!, /Bearer \[redacted\]/);
  assert.match(payload.reason, /Bearer \[redacted\]/);
  assert.ok(!JSON.stringify(letter).includes(SECRET), "no secret in the dead letter");

  const process = otel.spans().filter((span) => span.name === `process ${NAME}`);
  assert.equal(process.length, 1);
  assert.equal(process[0]!.status.message, "upstream refused: Authorization: Bearer [redacted]");
  for (const span of otel.spans()) {
    assert.ok(!JSON.stringify(span.status).includes(SECRET), span.name);
  }
});

Deno.test("a Host's secrets reach its workers: the error response and dead letter carry none", async () => {
  await using server = await startServer();
  const stop = new AbortController();
  let current = SECRET;
  const host = new Host({
    transport: server.client,
    signal: stop.signal,
    // A function is asked each time: a rotated secret is covered too.
    secrets: () => [current],
    registrations: [{ name: "leaky", names: [NAME], handler: quoting }],
  });
  const running = host.run();
  await using requester = new Requester({
    transport: server.client,
    responseNames: ["secret.leak.response"],
  });
  try {
    await Promise.all([host.readiness.waitReady(), requester.readiness.waitReady()]);
    current = "rotated-secret-value-0001";
    const rotated: Error = await requester.request(NAME, {}).catch((error: Error) =>
      error
    ) as Error;
    // The handler quotes the old one, which is no longer a known secret.
    assert.equal(rotated.message, `upstream refused: Authorization: Bearer ${SECRET}`);
    current = SECRET;
    const error: Error = await requester.request(NAME, {}).catch((error: Error) => error) as Error;
    assert.equal(error.message, "upstream refused: Authorization: Bearer [redacted]");
  } finally {
    stop.abort();
    await running;
  }
  const letters = await retained(server, `${NAME}.dead-letter`);
  assert.equal(letters.length, 2);
  assert.ok(!JSON.stringify(letters[1]).includes(SECRET));
});

Deno.test("runWorker() refuses secrets that are neither a list nor a function, and a tracing typo", async () => {
  await using server = await startServer();
  const base = { transport: server.client, names: [NAME], handler: () => {} };
  await assert.rejects(
    runWorker({ ...base, secrets: SECRET as unknown as string[] }),
    /^TypeError: Cannot run worker: secrets is not an array of strings or a function$/,
  );
  await assert.rejects(
    runWorker({ ...base, tracing: { producer: "parents" as "parent" } }),
    /^TypeError: Cannot run worker: tracing is \{"producer":"parents"\}, expected false or \{ producer: "link" \| "parent" \}$/,
  );
  await assert.rejects(
    runWorker({ ...base, tracing: true as unknown as false }),
    /^TypeError: Cannot run worker: tracing is true/,
  );
  assert.throws(
    () =>
      new Host({
        transport: server.client,
        registrations: [{
          name: "typo",
          names: [NAME],
          handler: () => {},
          tracing: { producer: "parents" as "parent" },
        }],
      }),
    /^TypeError: Cannot use registration 0 "typo": tracing is \{"producer":"parents"\}/,
  );
  assert.throws(
    () =>
      new Host({
        transport: server.client,
        registrations: [{ name: "fine", names: [NAME], handler: () => {} }],
        secrets: "abc" as never,
      }),
    /secrets is not an array of strings or a function/,
  );
  assert.equal(server.api.stats.openStreams, 0);
});
