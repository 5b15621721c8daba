/**
 * A cause that is no `Error` in the CLI's JSON log lines: Node's fetch
 * rejects with such causes (`{ code, address }`), and `String()` made
 * `"[object Object]"` of them. The field now reads as the text line reads
 * a value (`messageText()`: JSON), logged through LogTape as the CLI does.
 */
import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { logFormatter } from "../src/cli/logging.ts";
import { errorFields } from "../src/log_fields.ts";

/** Logs `error` once at error level and returns the line `format` makes of it. */
async function logged(format: "text" | "json", error: unknown): Promise<string> {
  const lines: string[] = [];
  const formatter = logFormatter(format, "info");
  await configure({
    reset: true,
    sinks: { memory: (record: LogRecord) => lines.push(formatter(record)) },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
      { category: ["tests"], lowestLevel: "info", sinks: ["memory"] },
    ],
  });
  try {
    getLogger(["tests", "cause"]).error("Failed: {error}", { error });
  } finally {
    await reset();
  }
  assert.equal(lines.length, 1);
  return lines[0]!;
}

Deno.test("logFormatter() writes a non-Error cause in JSON lines as its JSON text, never [object Object]", async () => {
  const cause = { code: "ECONNREFUSED", address: "127.0.0.1", port: 8080 };
  const error = new TypeError("fetch failed", { cause });
  const record = JSON.parse(await logged("json", error));
  assert.deepEqual(record.properties.error, {
    name: "TypeError",
    message: "fetch failed",
    cause: JSON.stringify(cause),
  });
  assert.equal(record.message, "Failed: TypeError: fetch failed (ECONNREFUSED 127.0.0.1:8080)");
  assert.match(
    await logged("text", error),
    /Failed: TypeError: fetch failed \(ECONNREFUSED 127\.0\.0\.1:8080\)/,
  );
});

Deno.test("errorFields() keeps a string cause as it is and bounds a long one, and keeps a cyclic one's plain fields", () => {
  assert.equal(
    errorFields(new Error("outer", { cause: "socket hang up" })).cause,
    "socket hang up",
  );
  const long = errorFields(new Error("outer", { cause: { body: "x".repeat(5000) } })).cause;
  assert.equal(typeof long, "string");
  assert.equal((long as string).length, 1001, "1000 characters and an ellipsis");
  assert.ok((long as string).endsWith("…"));
  const circular: Record<string, unknown> = { code: "E_LOOP" };
  circular.self = circular;
  assert.equal(
    errorFields(new Error("outer", { cause: circular })).cause,
    '{"code":"E_LOOP"}',
    "what JSON cannot write keeps its plain fields",
  );
  assert.equal(errorFields(new Error("outer", { cause: 42n })).cause, "42");
});
