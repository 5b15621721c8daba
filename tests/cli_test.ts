/**
 * The `bus-integration` CLI as a child process (`deno run -A cli.ts …`)
 * against a reference server served by the test process.
 */
import assert from "node:assert/strict";
import { type EventEnvelope, EventsClient, type HostReport, Requester } from "../mod.ts";
import { baseEnv, denoCommand, runDeno } from "./_child.ts";
import { until } from "./_poll.ts";
import { startServer, take, type TestServer } from "./_server.ts";
import { fakeTime } from "./_fake_time.ts";
import { type ParentGone, watchParent } from "../src/cli/parent_watch.ts";
import { loadErrorLocation } from "../src/cli/modules.ts";

const ROOT = new URL("..", import.meta.url);
const CLI = new URL("cli.ts", ROOT).pathname;
const PARENT = new URL("tests/fixtures/cli_parent.ts", ROOT).pathname;

function serverEnv(server: TestServer): Record<string, string> {
  return {
    ...baseEnv(),
    BUS_EVENTS_API_URL: server.served.url,
    BUS_API_TOKEN: server.token,
    BUS_EVENTS_LISTENER_RETRY_MIN: "100ms",
    BUS_EVENTS_LISTENER_RETRY_MAX: "500ms",
  };
}

/** Runs the CLI to completion. */
function runCli(args: string[], env: Record<string, string>) {
  return runDeno(["run", "-A", CLI, ...args], env);
}

/** Starts the CLI in the background, collecting its output as it comes. */
function spawnCli(args: string[], env: Record<string, string>) {
  return spawnDeno(["run", "-A", CLI, ...args], env);
}

/** Starts `deno <args>` in the background, collecting its output as it comes. */
function spawnDeno(args: string[], env: Record<string, string>) {
  const child = denoCommand(args, env).spawn();
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
    /** Resolves once stdout and stderr are closed: by this child and whatever inherited them. */
    ended: collected.then(() => {}),
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

/**
 * A requester for `tests/fixtures/cli_slow_worker.ts` and the events it
 * publishes when a handler starts (`started`); `stopWatching()` ends both.
 */
async function watchSlowWorker(server: TestServer) {
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
  const stopWatching = async () => {
    watching.abort();
    await reading;
    await requester.close();
  };
  return { requester, started, stopWatching };
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
    let report = await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
    while (report.registrations[0]?.handled !== 1 && Date.now() < deadline) {
      report = await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
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
  const { requester, started, stopWatching } = await watchSlowWorker(server);
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
    await stopWatching();
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
    [
      ["config"],
      { ...env, BUS_EVENTS_STREAM_IDLE_TIMEOUT: "soon" },
      /Cannot use BUS_EVENTS_STREAM_IDLE_TIMEOUT: current value is "soon"/,
    ],
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
    BUS_EVENTS_STREAM_IDLE_TIMEOUT: "45s",
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
  assert.deepEqual(config.streamIdleTimeoutMs, {
    value: 45_000,
    source: "env BUS_EVENTS_STREAM_IDLE_TIMEOUT",
  });
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

/** Resolves with `promise`, or rejects naming `what` after `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills `pid` unless it is gone already (for `finally` after a failure). */
function killIfThere(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // gone
  }
}

Deno.test("bus-integration host drains and exits when the process that started it is SIGKILLed", async () => {
  await using server = await startServer();
  const port = freePort();
  // The parent starts the host with its own stdout and stderr: once the
  // parent is dead, those pipes end only when the host exits too.
  const parent = spawnDeno(
    [
      "run",
      "-A",
      PARENT,
      "host",
      "--health-port",
      String(port),
      "--log-format",
      "json",
      "tests/fixtures/cli_slow_worker.ts",
    ],
    serverEnv(server),
  );
  const { requester, started, stopWatching } = await watchSlowWorker(server);
  let hostPid: number | undefined;
  let hostExited = false;
  parent.ended.then(() => hostExited = true);
  try {
    await until(() => parent.stdout.includes("\n"), 20_000, "the parent's report");
    hostPid = JSON.parse(parent.stdout.split("\n", 1)[0]!).child as number;
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200);
    // Long enough that the host notices its parent (within a second) mid-handler.
    const answer = requester.request("tests.cli.slow.request", { ms: 3_000 });
    answer.catch(() => {}); // awaited below
    await until(() => started.length === 1, 10_000, "the handler started");

    parent.child.kill("SIGKILL");
    assert.equal((await parent.child.status).signal, "SIGKILL");
    assert.deepEqual(await answer, { slept: 3_000 });
    // The orphan holds the pipes it inherited until it exits.
    await within(parent.ended, 15_000, "exit of the orphaned host");
    const messages = parent.stderr.trim().split("\n").map((line) => JSON.parse(line).message);
    assert.ok(
      messages.some((m) => /^Parent process \d+ exited \(parent now \d+\): draining$/.test(m)),
      parent.stderr,
    );
    assert.ok(messages.some((m) => /Draining 1 in-flight handlers/.test(m)), parent.stderr);
    assert.equal(messages.at(-1), "Host stopped cleanly", parent.stderr);
  } finally {
    if (hostPid !== undefined && !hostExited) killIfThere(hostPid);
    await stopWatching();
    await parent.cleanup();
  }
});

Deno.test("bus-integration with no arguments prints the help on stderr and exits 2", async () => {
  const result = await runCli([], baseEnv());
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^bus-integration: Missing command\n/);
  assert.match(result.stderr, /^Usage:$/m);
  assert.match(result.stderr, /bus-integration dev-server \[--port N\]/);
});

Deno.test("bus-integration <command> --help shows an example and points to the environment", async () => {
  const main = await runCli(["--help"], baseEnv());
  assert.equal(main.code, 0);
  assert.match(main.stdout, /BUS_EVENTS_LISTENER_RETRY_MIN=1s/, "the full block stays here");
  for (const topic of ["host", "config", "dev-server"]) {
    for (const args of [[topic, "--help"], ["help", topic]]) {
      const help = await runCli(args, baseEnv());
      assert.equal(help.code, 0, args.join(" "));
      assert.match(help.stdout, new RegExp(`^Usage: bus-integration ${topic} `), args.join(" "));
      assert.match(
        help.stdout,
        new RegExp(`^Example:\\n(?:  .*\\n)*?  .*\\bbus-integration ${topic} `, "m"),
        args.join(" "),
      );
      assert.doesNotMatch(help.stdout, /BUS_EVENTS_LISTENER_RETRY/, args.join(" "));
      if (topic !== "dev-server") {
        assert.match(help.stdout, /every variable: bus-integration help$/m, args.join(" "));
      }
    }
  }
});

Deno.test("bus-integration host names the file and line of a syntax error, in the module or below it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/broken.ts`,
      'export default {\n  name: "x",\n  handler: () => { return 1 +; },\n};\n',
    );
    await Deno.writeTextFile(`${dir}/imports_broken.ts`, 'export * from "./broken.ts";\n');
    const env = { ...baseEnv(), BUS_EVENTS_API_URL: "http://127.0.0.1:1", BUS_API_TOKEN: "t" };
    for (const module of ["broken.ts", "imports_broken.ts"]) {
      const result = await runCli(["host", `${dir}/${module}`], env);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr.trim(),
        `bus-integration: Cannot load module ${dir}/${module}: ${dir}/broken.ts:3:30: ` +
          "SyntaxError: Expression expected",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Reads `URL=` and `TOKEN=` from a dev server's stdout once both arrived. */
async function devServerAddress(cli: ReturnType<typeof spawnCli>) {
  await until(() => /^TOKEN=.+$/m.test(cli.stdout), 20_000, "URL= and TOKEN= lines");
  const value = (name: string) => new RegExp(`^${name}=(.+)$`, "m").exec(cli.stdout)![1]!;
  return { url: value("URL"), token: value("TOKEN") };
}

Deno.test("bus-integration dev-server prints a URL and token that work, and stops on SIGTERM with 0", async () => {
  const port = freePort();
  const cli = spawnCli(["dev-server", "--port", String(port)], baseEnv());
  try {
    const { url, token } = await devServerAddress(cli);
    assert.equal(url, `http://127.0.0.1:${port}`);
    assert.equal(cli.stdout, `URL=${url}\nTOKEN=${token}\n`);
    const client = new EventsClient({ baseUrl: url, token });
    const { id } = await client.publish({ name: "example.ping", payload: { n: 1 } });
    const [event] = await take(
      client.stream({ name: "example.ping", replay: true, follow: false }),
      1,
    );
    assert.equal(event?.id, id);
    assert.deepEqual(event?.payload, { n: 1 });
    assert.equal(event?.identity_id, "local-user");

    cli.child.kill("SIGTERM");
    const status = await cli.finish();
    assert.equal(status.code, 0, cli.stderr);
    assert.match(cli.stderr, /Received SIGTERM: stopping the reference server/);
  } finally {
    await cli.cleanup();
  }
});

Deno.test("bus-integration dev-server exits 2 on a bad port and 1 on a port in use, without a stack", async () => {
  for (const args of [["--port", "abc"], ["--port=70000"], ["--port"], ["8080"], ["--host", "x"]]) {
    const result = await runCli(["dev-server", ...args], baseEnv());
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^bus-integration: (Cannot use|Unknown option)/, args.join(" "));
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    assert.equal(result.stdout, "");
  }
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { port } = taken.addr as Deno.NetAddr;
    const result = await runCli(["dev-server", "--port", String(port)], baseEnv());
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`^bus-integration: Cannot serve on 127\\.0\\.0\\.1:${port}: `),
    );
    assert.equal(result.stdout, "");
  } finally {
    taken.close();
  }
});

Deno.test("deno task reference-server exits 2 on a port that is not a number, not with a RangeError", async () => {
  const result = await runDeno(["task", "-q", "reference-server", "abc"], baseEnv());
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /^bus-integration: Cannot use --port: current value is "abc"/);
  assert.doesNotMatch(result.stderr, /RangeError/);
});

Deno.test("watchParent() reports once, on the first poll after the parent id changed", () => {
  using time = fakeTime();
  let parent = 4242;
  const gone: ParentGone[] = [];
  const stop = watchParent({ readParentPid: () => parent, onGone: (g) => gone.push(g) });
  time.clock.tick(5_000);
  assert.deepEqual(gone, []);
  parent = 1; // re-parented to init
  time.clock.tick(999);
  assert.deepEqual(gone, [], "not before the next poll");
  time.clock.tick(1);
  assert.deepEqual(gone, [{ was: 4242, now: 1 }]);
  parent = 77;
  time.clock.tick(10_000);
  assert.equal(gone.length, 1, "once");
  assert.equal(time.clock.countTimers(), 0);
  stop();
});

Deno.test("watchParent() stops polling when its stop function is called", () => {
  using time = fakeTime();
  let parent = 10;
  let reads = 0;
  const stop = watchParent({
    readParentPid: () => (reads++, parent),
    onGone: () => assert.fail("stopped"),
    intervalMs: 50,
  });
  time.clock.tick(200);
  assert.equal(reads, 5);
  stop();
  parent = 1;
  time.clock.tick(1_000);
  assert.equal(reads, 5);
  assert.equal(time.clock.countTimers(), 0);
});

Deno.test("watchParent() polls nothing when the parent is init or the process is init", () => {
  using time = fakeTime();
  for (const pid of [1, 0]) {
    let reads = 0;
    watchParent({ readParentPid: () => (reads++, pid), onGone: () => assert.fail("no parent") });
    assert.equal(time.clock.countTimers(), 0);
    time.clock.tick(5_000);
    assert.equal(reads, 1);
  }
});

Deno.test("watchParent() refuses an interval that is not a positive number", () => {
  for (const intervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => watchParent({ readParentPid: () => 2, onGone: () => {}, intervalMs }),
      RangeError,
    );
  }
});

Deno.test("loadErrorLocation() reads the position of Bun's BuildMessage", async () => {
  // The shape Bun 1.4 rejects import() with for a module it cannot parse.
  const error = Object.assign(new Error("Unexpected ;"), {
    name: "BuildMessage",
    position: { file: "/srv/app/worker.js", line: 3, column: 30, lineText: "  x +;" },
  });
  assert.equal(
    await loadErrorLocation(error, "file:///srv/app/worker.js"),
    "/srv/app/worker.js:3:30",
  );
});

Deno.test("loadErrorLocation() reads a location in the message or stack, past the CLI's own frames", async () => {
  const own = new URL("../src/cli/modules.ts", import.meta.url).href;
  const error = new TypeError(
    'Module not found "file:///srv/app/gone.ts".\n    at \x1b[36mfile:///srv/app/worker.ts\x1b[0m:\x1b[33m1\x1b[0m:\x1b[33m8\x1b[0m',
  );
  error.stack = `TypeError: x\n    at async loadRegistrations (${own}:90:7)`;
  assert.equal(
    await loadErrorLocation(error, "file:///srv/app/worker.ts"),
    "/srv/app/worker.ts:1:8",
  );
  const ours = new Error("boom");
  ours.stack = `Error: boom\n    at loadRegistrations (${own}:90:7)`;
  assert.equal(await loadErrorLocation(ours, "file:///srv/app/worker.ts"), undefined);
  assert.equal(await loadErrorLocation("not an error", "file:///x.ts"), undefined);
});

Deno.test("loadErrorLocation() asks Node for the line of a syntax error that carries none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/package.json`, '{ "type": "module" }\n');
    await Deno.writeTextFile(`${dir}/broken.js`, "export const a = 1;\n\nexport const b = 1 +;\n");
    await Deno.writeTextFile(`${dir}/worker.js`, 'export * from "./broken.js";\n');
    // What Node's import() rejects with: no file, no line, no frame outside node:internal.
    const nodeError = new SyntaxError("Unexpected token ';'");
    nodeError.stack =
      "SyntaxError: Unexpected token ';'\n    at compileSourceTextModule (node:internal/modules/esm/utils:346:16)";
    let asked: string[] = [];
    const rerun = async (args: string[]) => {
      asked = args;
      const output = await new Deno.Command("node", { args, stdout: "null", stderr: "piped" })
        .output();
      return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
    };
    const url = `file://${dir}/worker.js`;
    assert.equal(await loadErrorLocation(nodeError, url, rerun), `${dir}/broken.js:3`);
    assert.equal(asked.at(-1), url);
    // Anything but a syntax error is not worth a second run.
    asked = [];
    const other = Object.assign(new TypeError("nope"), { stack: "TypeError: nope" });
    assert.equal(await loadErrorLocation(other, url, rerun), undefined);
    assert.deepEqual(asked, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
