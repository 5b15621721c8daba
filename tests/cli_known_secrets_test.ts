/**
 * The CLI's `KnownSecrets`: what the transport was handed, a token file's
 * provider answer by answer, redacted from log lines and listings; and the
 * log formatter applying it to whole lines.
 */
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { logFormatter } from "../src/cli/logging.ts";
import { KnownSecrets, openTransport } from "../src/cli/transport.ts";
import { redactSecrets } from "../src/log_fields.ts";

Deno.test("redactSecrets() removes each secret, raw and JSON-escaped, and skips tiny ones", () => {
  assert.equal(
    redactSecrets('token a"b\\c-secret and {"t":"a\\"b\\\\c-secret"}', ['a"b\\c-secret']),
    'token [redacted] and {"t":"[redacted]"}',
  );
  assert.equal(redactSecrets("every e stays", ["e"]), "every e stays");
  assert.equal(redactSecrets("nothing to do", []), "nothing to do");
});

Deno.test("KnownSecrets keeps the newest few tokens and forgets older ones", () => {
  const secrets = new KnownSecrets();
  for (const token of ["token-1", "token-2", "token-3", "token-4", "token-5", undefined, ""]) {
    secrets.add(token);
  }
  assert.deepEqual(secrets.list(), ["token-2", "token-3", "token-4", "token-5"]);
  secrets.add("token-2"); // seen again: the newest now
  secrets.add("token-6");
  assert.deepEqual(secrets.list(), ["token-4", "token-5", "token-2", "token-6"]);
  assert.equal(secrets.redact("token-1 token-6"), "token-1 [redacted]");
});

Deno.test("openTransport() teaches KnownSecrets each token a provider returns", async () => {
  const secrets = new KnownSecrets();
  let current = "first-token";
  const seen: string[] = [];
  const client = await openTransport(
    { kind: "http" },
    () => ({
      baseUrl: "http://bus.test",
      token: () => Promise.resolve(current),
      tokenSource: "test",
    }),
    "test",
    secrets,
  );
  assert.deepEqual(secrets.list(), [], "nothing before a request asked for it");
  const fetched = async () => {
    await (client as unknown as { publish: (e: object) => Promise<unknown> })
      .publish({ name: "tests.secrets" }).catch(() => {});
    seen.push(...secrets.list());
  };
  await fetched();
  current = "second-token";
  await fetched();
  assert.deepEqual(secrets.list(), ["first-token", "second-token"]);
  assert.ok(seen.includes("first-token"));
  await client.close?.();
});

Deno.test("logFormatter() redacts the whole finished line, text and JSON", () => {
  const record: LogRecord = {
    category: ["test"],
    level: "error",
    message: ["Handler failed: ", new Error("Bearer s3cr3t-token"), ""],
    rawMessage: "Handler failed: {error}",
    properties: { error: new Error("Bearer s3cr3t-token") },
    timestamp: 0,
  };
  const redact = (line: string) => redactSecrets(line, ["s3cr3t-token"]);
  for (const format of ["text", "json"] as const) {
    const line = logFormatter(format, "info", redact)(record);
    assert.ok(line.includes("Bearer [redacted]"), line);
    assert.ok(!line.includes("s3cr3t"), line);
    assert.ok(logFormatter(format, "info")(record).includes("s3cr3t-token"), "only when asked");
  }
});
