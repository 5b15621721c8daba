/**
 * The CLI's log output as a user sees it, from `deno run -A cli.ts` as a
 * child process against the reference server: a fatal configuration or
 * auth error is one line (the stack only at debug), a failing handler's
 * JSON line carries the error as fields, and no token or `Authorization`
 * header reaches the output on any failing path, even at debug.
 */
import assert from "node:assert/strict";
import { Requester, ResponseError } from "../mod.ts";
import { baseEnv, denoCommand, runDeno } from "./_child.ts";
import { startServer, type TestServer } from "./_server.ts";
import { freePort } from "./_nats_server.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const FAILING = "tests/fixtures/logs_failing_worker.ts";
const ECHO = "examples/echo_worker.ts";

function envFor(url: string, token: string, extra: Record<string, string> = {}) {
  return {
    ...baseEnv(),
    BUS_EVENTS_API_URL: url,
    BUS_API_TOKEN: token,
    BUS_EVENTS_LISTENER_RETRY_MIN: "100ms",
    BUS_EVENTS_LISTENER_RETRY_MAX: "200ms",
    ...extra,
  };
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** Runs the failing worker until one request failed, then stops it with SIGTERM. */
async function runFailingHandler(server: TestServer, logArgs: string[], token = server.token) {
  const port = await freePort();
  const child = denoCommand(
    ["run", "-A", CLI, "host", "--health-port", String(port), ...logArgs, FAILING],
    envFor(server.served.url, token),
  ).spawn();
  const requester = new Requester({
    transport: server.client,
    responseNames: ["tests.logs.fail.response"],
    timeout: 20_000,
  });
  try {
    const deadline = Date.now() + 30_000;
    while (
      (await fetch(`http://127.0.0.1:${port}/readyz`).then(
        async (response) => (await response.body?.cancel(), response.status),
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > deadline) throw new Error("the CLI never got ready");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await assert.rejects(
      requester.request("tests.logs.fail.request", { report: 7 }),
      (error) => error instanceof ResponseError && error.code === "disk_full",
    );
  } finally {
    await requester.close();
    // A drain waits for the in-flight handler, so its log line is written before exit.
    child.kill("SIGTERM");
  }
  const output = await child.output();
  return {
    code: output.code,
    stderr: new TextDecoder().decode(output.stderr),
    stdout: new TextDecoder().decode(output.stdout),
  };
}

Deno.test("bus-integration host prints a bad environment value as one line and exits 2", async () => {
  await using server = await startServer();
  for (const level of ["info", "debug"]) {
    const result = await runDeno(
      ["run", "-A", CLI, "host", "--log-level", level, ECHO],
      envFor(server.served.url, server.token, { BUS_EVENTS_LISTENER_RETRY_MIN: "banana" }),
    );
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(lines(result.stderr), [
      'bus-integration: Cannot use BUS_EVENTS_LISTENER_RETRY_MIN: current value is "banana", expected a Go duration from 0 to 596h31m23.647s (2147483647 ms, the longest a timer can wait), e.g. 500ms, 1s or 1m30s',
    ], `at ${level}`);
  }
});

Deno.test("bus-integration host says a refused token in one fatal line, with no stack below debug", async () => {
  await using server = await startServer();
  const result = await runDeno(
    ["run", "-A", CLI, "host", ECHO],
    envFor(server.served.url, "not-a-real-token"),
  );
  assert.equal(result.code, 1, result.stderr);
  const output = lines(result.stderr);
  const problems = output.filter((line) => /\[(ERR|FTL)\]/.test(line));
  assert.deepEqual(problems.length, 1, result.stderr);
  assert.match(
    problems[0]!,
    /\[FTL\] bus-integration·cli: Host failed: RegistrationError: Cannot keep running registration "echo": AuthError: Cannot open stream: Events API answered 401 invalid_auth: token is malformed$/,
  );
  assert.ok(output.every((line) => /^\d{4}-\d\d-\d\d /.test(line)), "every line is a log line");
  assert.ok(output.length <= 5, `a handful of lines, not ${output.length}:\n${result.stderr}`);
});

Deno.test("bus-integration host --log-level debug adds the stack of a fatal error", async () => {
  await using server = await startServer();
  const result = await runDeno(
    ["run", "-A", CLI, "host", "--log-level", "debug", ECHO],
    envFor(server.served.url, "not-a-real-token"),
  );
  assert.equal(result.code, 1, result.stderr);
  assert.equal(lines(result.stderr).filter((line) => /\[FTL\]/.test(line)).length, 1);
  assert.match(result.stderr, /\[DBG\] bus-integration·cli: Host failed at: RegistrationError: /);
  assert.match(result.stderr, /\n {4}at /, "the stack's frames");
});

Deno.test("bus-integration host --log-format json logs a failing handler's error as fields", async () => {
  await using server = await startServer();
  const result = await runFailingHandler(server, ["--log-format", "json"]);
  assert.equal(result.code, 0, result.stderr);
  const records = lines(result.stderr).map((line) => JSON.parse(line));
  const failed = records.filter((record) => record.properties?.error !== undefined);
  assert.equal(failed.length, 1, result.stderr);
  const [record] = failed;
  assert.equal(record.level, "ERROR");
  assert.equal(record.logger, "bus-integration.worker");
  assert.match(
    record.message,
    /^Handler failed on tests\.logs\.fail\.request \d+: NonRetryableError: Cannot write the report: the disk is full \(RangeError: quota exceeded\)$/,
  );
  assert.deepEqual(record.properties.error, {
    name: "NonRetryableError",
    message: "Cannot write the report: the disk is full",
    code: "disk_full",
    cause: { name: "RangeError", message: "quota exceeded" },
  });
  assert.equal(record.properties.name, "tests.logs.fail.request");
  assert.equal(typeof record.properties.correlationId, "string");
});

Deno.test("bus-integration never prints the token or an Authorization header on failing paths, even at debug", async () => {
  await using server = await startServer();
  const secret = await server.api.mintToken({ sub: "leak-check" });
  const outputs: Array<[string, string]> = [];
  for (const format of ["text", "json"]) {
    const debug = ["--log-level", "debug", "--log-format", format];
    const handler = await runFailingHandler(server, debug, secret);
    outputs.push([`${format}: failing handler`, handler.stdout + handler.stderr]);
    // A token the server refuses: the 401 path, fatal.
    const refused = await runDeno(
      ["run", "-A", CLI, "host", ...debug, ECHO],
      envFor(server.served.url, `${secret}x`),
    );
    assert.equal(refused.code, 1);
    outputs.push([`${format}: refused token`, refused.stdout + refused.stderr]);
    // Nothing listening, reconnecting off: the network path, fatal at once.
    const unreachable = await runDeno(
      ["run", "-A", CLI, "host", ...debug, ECHO],
      envFor(`http://127.0.0.1:${await freePort()}`, secret, { BUS_EVENTS_LISTENER_RETRY: "0" }),
    );
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /ECONNREFUSED 127\.0\.0\.1:\d+/);
    outputs.push([`${format}: unreachable`, unreachable.stdout + unreachable.stderr]);
  }
  for (const [path, output] of outputs) {
    assert.ok(output.length > 0, path);
    assert.ok(!output.includes(secret), `${path}: the token was printed`);
    // The signature alone is the secret part of a JWT.
    assert.ok(
      !output.includes(secret.split(".")[2]!),
      `${path}: the token's signature was printed`,
    );
    assert.doesNotMatch(output, /authorization|bearer /i, `${path}: an Authorization header`);
  }
});
