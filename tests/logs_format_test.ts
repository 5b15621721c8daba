/**
 * How errors read in the CLI's log lines: `name: message` in text, and
 * structured fields in JSON lines (never `{}`), with stacks only at debug;
 * `errorFields()` and `messageText()` on their own.
 */
import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { logFormatter } from "../src/cli/logging.ts";
import { errorFields, messageText } from "../src/log_fields.ts";
import { AuthError, NonRetryableError, RegistrationError } from "../mod.ts";

/** Logs one error record through LogTape and returns it formatted by `format`. */
async function formatted(
  format: "text" | "json",
  level: "info" | "debug",
  log: (logger: ReturnType<typeof getLogger>) => void,
): Promise<string[]> {
  const lines: string[] = [];
  const formatter = logFormatter(format, level);
  await configure({
    reset: true,
    sinks: { memory: (record: LogRecord) => lines.push(formatter(record)) },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
      { category: ["tests"], lowestLevel: level, sinks: ["memory"] },
    ],
  });
  try {
    log(getLogger(["tests", "logs"]));
  } finally {
    await reset();
  }
  return lines;
}

const auth = new AuthError(
  "Cannot open stream: Events API answered 401 invalid_auth: token is malformed",
  { status: 401, code: "invalid_auth", bodyExcerpt: '{"error":{"type":"invalid_auth"}}' },
);

Deno.test("logFormatter() renders an error as name: message on one text line", async () => {
  const [line, ...rest] = await formatted("text", "info", (logger) => {
    logger.error("Host failed: {error}", { error: new RegistrationError("echo", auth) });
  });
  assert.deepEqual(rest, []);
  assert.match(
    line!,
    /\[ERR\] tests·logs: Host failed: RegistrationError: Cannot keep running registration "echo": AuthError: Cannot open stream: Events API answered 401 invalid_auth: token is malformed\n$/,
  );
  assert.equal(line!.split("\n").length, 2, "one line and its newline: no stack, no inspect block");
});

Deno.test("logFormatter() writes an error as structured fields in JSON lines, with the cause", async () => {
  const [line] = await formatted("json", "info", (logger) => {
    logger.error("Host failed: {error}", { error: new RegistrationError("echo", auth) });
  });
  const record = JSON.parse(line!);
  assert.equal(
    record.message,
    `Host failed: RegistrationError: ${new RegistrationError("echo", auth).message}`,
  );
  assert.deepEqual(record.properties.error, {
    name: "RegistrationError",
    message: new RegistrationError("echo", auth).message,
    cause: { name: "AuthError", message: auth.message, code: "invalid_auth", status: 401 },
  });
  assert.ok(!line!.includes("bodyExcerpt"), "the server's body stays out of the log");
});

Deno.test("logFormatter() adds stacks to JSON error fields only at debug level", async () => {
  const error = new NonRetryableError("payload.name is empty", { code: "invalid_payload" });
  const [atInfo] = await formatted("json", "info", (logger) => logger.error("{error}", { error }));
  const [atDebug] = await formatted(
    "json",
    "debug",
    (logger) => logger.error("{error}", { error }),
  );
  assert.equal(JSON.parse(atInfo!).properties.error.stack, undefined);
  assert.equal(JSON.parse(atDebug!).properties.error.stack, error.stack);
  assert.equal(JSON.parse(atDebug!).properties.error.code, "invalid_payload");
});

Deno.test("logFormatter() keeps other values: strings bare, objects as JSON or inspected", async () => {
  const [json] = await formatted("json", "info", (logger) => {
    logger.info("Hosting {names} on {url}", { names: ["echo"], url: "http://127.0.0.1:1" });
  });
  const record = JSON.parse(json!);
  assert.equal(record.message, 'Hosting ["echo"] on http://127.0.0.1:1');
  assert.deepEqual(record.properties, { names: ["echo"], url: "http://127.0.0.1:1" });
  const [text] = await formatted("text", "info", (logger) => {
    logger.info("Hosting {names} on {url}", { names: ["echo"], url: "http://127.0.0.1:1" });
  });
  assert.match(text!, /Hosting \[ "echo" \] on http:\/\/127\.0\.0\.1:1\n$/);
});

Deno.test("errorFields() follows a cause chain, keeps a non-error cause as text and never yields {}", () => {
  const plain = new Error("boom");
  assert.deepEqual(errorFields(plain), { name: "Error", message: "boom" });
  assert.notDeepEqual(JSON.parse(JSON.stringify(errorFields(plain))), {});
  assert.deepEqual(errorFields(new Error("outer", { cause: "socket closed" })), {
    name: "Error",
    message: "outer",
    cause: "socket closed",
  });
  const deep = new Error("1", { cause: new Error("2", { cause: new Error("3") }) });
  assert.equal(
    errorFields(deep).cause && (errorFields(deep).cause as { message: string }).message,
    "2",
  );
});

Deno.test("messageText() renders strings bare, errors described and the rest as JSON", () => {
  assert.equal(messageText("as is"), "as is");
  assert.equal(messageText(new TypeError("bad")), "TypeError: bad");
  assert.equal(messageText({ a: 1 }), '{"a":1}');
  assert.equal(messageText(undefined), "undefined");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(messageText(cyclic), "[object Object]");
});
