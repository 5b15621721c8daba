/**
 * The `bus-integration` CLI as a child process (`deno run -A cli.ts …`)
 * against a reference server served by the test process.
 */
import assert from "node:assert/strict";
import { type EventEnvelope, type HostReport, Requester } from "../mod.ts";
import { baseEnv, denoCommand, runDeno } from "./_child.ts";
import { until } from "./_poll.ts";
import { startServer, type TestServer } from "./_server.ts";

const ROOT = new URL("..", import.meta.url);
const CLI = new URL("cli.ts", ROOT).pathname;

function serverEnv(server: TestServer): Record<string, string> {
  return {
    ...baseEnv(),
    BUS_EVENTS_API_URL: server.served.url,
    BUS_API_TOKEN: server.token,
    BUS_EVENTS_LISTENER_RETRY_MIN: "100ms",
    BUS_EVENTS_LISTENER_RETRY_MAX: "500ms",
  };
}

function command(args: string[], env: Record<string, string>) {
  return denoCommand(["run", "-A", CLI, ...args], env);
}

/** Runs the CLI to completion. */
function runCli(args: string[], env: Record<string, string>) {
  return runDeno(["run", "-A", CLI, ...args], env);
}

/** Starts the CLI in the background, collecting its output as it comes. */
function spawnCli(args: string[], env: Record<string, string>) {
  const child = command(args, env).spawn();
  let stdout = "";
  let stderr = "";
  const collect = (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
    const decoder = new TextDecoder();
    return stream.pipeTo(
      new WritableStream({ write: (chunk) => add(decoder.decode(chunk, { stream: true })) }),
    );
  };
  const collected = Promise.all([
    collect(child.stdout, (text) => stdout += text),
    collect(child.stderr, (text) => stderr += text),
  ]);
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get exited() {
      return exited;
    },
    /** Waits for exit and for all output. */
    async finish() {
      const result = await status;
      await collected;
      return result;
    },
    /** Kills it if it still runs, then waits; for `finally`. */
    async cleanup() {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      await status;
      await collected;
    },
  };
}

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Polls `url` until it answers `status`; returns the body. */
async function waitForStatus(url: string, status: number, timeout = 30_000): Promise<HostReport> {
  const deadline = Date.now() + timeout;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      const text = await response.text();
      if (response.status === status) return JSON.parse(text) as HostReport;
      last = `${response.status} ${text}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${status} from ${url}; last: ${last}`);
}

Deno.test("bus-integration host serves the echo example, reports ready and stops on SIGTERM with 0", async () => {
  await using server = await startServer();
  const port = freePort();
  const cli = spawnCli(
    ["host", "--health-port", String(port), "examples/echo_worker.ts"],
    serverEnv(server),
  );
  const requester = new Requester({
    transport: server.client,
    responseNames: ["example.echo.response"],
    timeout: 10_000,
  });
  try {
    const ready = await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
    assert.equal(ready.status, "running");
    assert.deepEqual(ready.registrations.map((r) => [r.name, r.state]), [["echo", "ready"]]);
    assert.deepEqual(await requester.request("example.echo.request", "ping"), { echo: "ping" });
    // The reply can arrive before the handler returned and was counted.
    const deadline = Date.now() + 5_000;
    let report = await waitForStatus(`http://127.0.0.1:${port}/healthz`, 200);
    while (report.registrations[0]?.handled !== 1 && Date.now() < deadline) {
      report = await waitForStatus(`http://127.0.0.1:${port}/healthz`, 200);
    }
    assert.equal(report.registrations[0]?.handled, 1);

    cli.child.kill("SIGTERM");
    const status = await cli.finish();
    assert.equal(status.code, 0, cli.stderr);
    assert.match(cli.stderr, /Received SIGTERM: draining/);
    assert.match(cli.stderr, /Host stopped cleanly/);
    assert.ok(!cli.stderr.includes(server.token), "the token never reaches the log");
  } finally {
    await requester.close();
    await cli.cleanup();
  }
});

Deno.test("bus-integration host drains an in-flight slow handler on SIGTERM, then exits 0", async () => {
  await using server = await startServer();
  const port = freePort();
  const cli = spawnCli(
    [
      "host",
      "--health-port",
      String(port),
      "--log-format",
      "json",
      "tests/fixtures/cli_slow_worker.ts",
    ],
    serverEnv(server),
  );
  const requester = new Requester({
    transport: server.client,
    responseNames: ["tests.cli.slow.response"],
    timeout: 20_000,
  });
  const watching = new AbortController();
  const started: EventEnvelope[] = [];
  const stream = await server.client.open({
    name: "tests.cli.slow.started",
    signal: watching.signal,
  });
  const reading = (async () => {
    try {
      for await (const event of stream) started.push(event);
    } catch {
      // aborted at the end
    }
  })();
  try {
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
    const answer = requester.request("tests.cli.slow.request", { ms: 1_500 });
    answer.catch(() => {}); // awaited below
    await until(() => started.length === 1, 10_000, "the handler started");
    cli.child.kill("SIGTERM");
    // While draining the host is alive but no longer ready.
    const draining = await waitForStatus(`http://127.0.0.1:${port}/readyz`, 503, 5_000);
    assert.equal(draining.status, "stopping");
    assert.equal(draining.registrations[0]?.inFlight, 1);
    assert.deepEqual(await answer, { slept: 1_500 });
    const status = await cli.finish();
    assert.equal(status.code, 0, cli.stderr);
    const records = cli.stderr.trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(records.some((r) => /Draining 1 in-flight handlers/.test(r.message)));
    assert.ok(records.some((r) => r.message === "Host stopped cleanly"));
  } finally {
    watching.abort();
    await reading;
    await requester.close();
    await cli.cleanup();
  }
});

Deno.test("bus-integration host exits 1 naming the registration when the server refuses the token", async () => {
  await using server = await startServer();
  const result = await runCli(["host", "examples/echo_worker.ts"], {
    ...serverEnv(server),
    BUS_API_TOKEN: "not-a-real-token",
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /Host failed: RegistrationError: Cannot keep running registration "echo"/,
  );
  assert.match(result.stderr, /401/);
  assert.ok(!result.stderr.includes("not-a-real-token"));
});

Deno.test("bus-integration exits 2 with a clear message for bad flags, environment and modules", async () => {
  await using server = await startServer();
  const env = serverEnv(server);
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [
      ["host", "--health-port", "nope", "examples/echo_worker.ts"],
      env,
      /--health-port: current value is "nope"/,
    ],
    [["host", "--frobnicate", "examples/echo_worker.ts"], env, /Unknown option "--frobnicate"/],
    [["launch"], env, /Unknown command "launch"/],
    [["host"], env, /give at least one module/],
    [
      ["host", "examples/echo_worker.ts"],
      { ...env, BUS_EVENTS_LISTENER_RETRY_MIN: "soon" },
      /Cannot use BUS_EVENTS_LISTENER_RETRY_MIN: current value is "soon"/,
    ],
    [
      ["host", "examples/echo_worker.ts"],
      { ...env, BUS_EVENTS_TOKEN_REFRESH: "maybe" },
      /Cannot use BUS_EVENTS_TOKEN_REFRESH: current value is "maybe"/,
    ],
    [
      ["host", "examples/echo_worker.ts"],
      { ...env, BUS_EVENTS_API_URL: "" },
      /Cannot use BUS_EVENTS_API_URL/,
    ],
    [["host", "tests/fixtures/missing.ts"], env, /Cannot load module tests\/fixtures\/missing.ts/],
    [
      ["host", "tests/fixtures/cli_no_registrations.ts"],
      env,
      /exports neither "registrations" nor a default registration/,
    ],
    [
      ["host", "examples/echo_worker.ts", "examples/echo_worker.ts"],
      env,
      /registration name "echo" is used more than once/,
    ],
    [["config", "--token-file", "/nonexistent/token"], env, /Cannot use --token-file/],
  ];
  for (const [args, caseEnv, message] of cases) {
    const result = await runCli(args, caseEnv);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
    assert.match(result.stderr, /^bus-integration: /);
  }
});

Deno.test("bus-integration refuses --token with exit 2 and never echoes it", async () => {
  for (
    const args of [["host", "--token", "s3cret-value", "x.ts"], ["config", "--token=s3cret-value"]]
  ) {
    const result = await runCli(args, baseEnv());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Cannot take a token on the command line/);
    assert.match(result.stderr, /set BUS_API_TOKEN or use --token-file/);
    assert.ok(!result.stderr.includes("s3cret-value"));
    assert.equal(result.stdout, "");
  }
});

Deno.test("bus-integration config --json shows each value's source and redacts the token", async () => {
  await using server = await startServer();
  const result = await runCli(["config", "--json", "--health-port", "8081"], {
    ...serverEnv(server),
    BUS_EVENTS_TOKEN_REFRESH: "1",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.includes(server.token));
  const config = JSON.parse(result.stdout);
  assert.deepEqual(config.token, { value: "[redacted]", source: "env BUS_API_TOKEN" });
  assert.deepEqual(config.eventsUrl, {
    value: server.served.url,
    source: "env BUS_EVENTS_API_URL",
  });
  assert.deepEqual(config.reconnectMinMs, {
    value: 100,
    source: "env BUS_EVENTS_LISTENER_RETRY_MIN",
  });
  assert.deepEqual(config.tokenRefresh, { value: true, source: "env BUS_EVENTS_TOKEN_REFRESH" });
  assert.deepEqual(config.required, { value: true, source: "default" });
  assert.deepEqual(config.healthPort, { value: 8081, source: "--health-port" });
  assert.deepEqual(config.healthHost, { value: "127.0.0.1", source: "default" });
});

Deno.test("bus-integration config: --token-file wins over BUS_API_TOKEN, and text output redacts too", async () => {
  await using server = await startServer();
  const tokenFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(tokenFile, `${server.token}\n`);
    const result = await runCli([
      "config",
      "--token-file",
      tokenFile,
      "--events-url",
      "http://127.0.0.1:1",
    ], {
      ...serverEnv(server),
      BUS_API_TOKEN: "from-env",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes(server.token));
    assert.match(
      result.stdout,
      new RegExp(`^token\\s+\\[redacted\\]\\s+--token-file ${tokenFile}$`, "m"),
    );
    assert.match(result.stdout, /^eventsUrl\s+http:\/\/127\.0\.0\.1:1\s+--events-url$/m);
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("bus-integration --version prints deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const result = await runCli(["--version"], baseEnv());
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), config.version);
  const help = await runCli(["host", "--help"], baseEnv());
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: bus-integration host \[options\] <module…>/);
});
