/**
 * `bus-integration` as a child process: the help names every variable,
 * a bad help topic or option says so with the right help, configuration
 * errors keep their reason and never a password, redrive failures keep
 * their cause, a drain that abandons handlers exits 1, and a token quoted
 * by a handler's error reaches neither stderr nor `/readyz`.
 */
import assert from "node:assert/strict";
import type { EventEnvelope, HostReport } from "../mod.ts";
import { baseEnv, denoCommand, runDeno } from "./_child.ts";
import { until } from "./_poll.ts";
import { startServer, type TestServer } from "./_server.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

function runCli(args: string[], env: Record<string, string> = baseEnv()) {
  return runDeno(["run", "-A", CLI, ...args], env);
}

function serverEnv(server: TestServer): Record<string, string> {
  return { ...baseEnv(), BUS_EVENTS_API_URL: server.served.url, BUS_API_TOKEN: server.token };
}

Deno.test("bus-integration help lists every variable of the README's configuration table", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const table = readme.slice(
    readme.indexOf("## Configuration"),
    readme.indexOf("## NATS JetStream"),
  );
  const variables = [...table.matchAll(/^\| `([A-Z_]+)`/gm)].map((match) => match[1]!);
  assert.ok(variables.includes("BUS_EVENTS_LISTENER_HEALTHY_AFTER"), "the table was read");
  const help = await runCli(["help"]);
  assert.equal(help.code, 0);
  // The NATS mapping variables are listed by their common prefix (BUS_NATS_STREAM, _ACK_WAIT…).
  const shown = (name: string) =>
    help.stdout.includes(name) || help.stdout.includes(name.replace(/^BUS_NATS/, ""));
  assert.deepEqual(variables.filter((name) => !shown(name)), []);
});

Deno.test("bus-integration help <unknown topic> exits 2 naming it", async () => {
  for (const args of [["help", "hots"], ["help", "--json"], ["help", "host", "extra"]]) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stdout, "");
  }
  const hots = await runCli(["help", "hots"]);
  assert.equal(
    hots.stderr.trim(),
    'bus-integration: Unknown help topic "hots": expected host, config, dev-server, redrive',
  );
});

Deno.test("bus-integration config -j and --j both point to config --help", async () => {
  for (const option of ["-j", "--j"]) {
    const result = await runCli(["config", option]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr.trim(),
      `bus-integration: Unknown option "${option}": see bus-integration config --help`,
    );
  }
});

Deno.test("bus-integration config --token-file keeps the reason, as BUS_API_TOKEN_FILE does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const empty = `${dir}/empty`;
    await Deno.writeTextFile(empty, "\n");
    const cases: Array<[string, RegExp]> = [
      [empty, /expected a non-empty token file at .*\/empty$/],
      [`${dir}/missing`, /expected a readable token file at .*\/missing \(ENOENT\)$/],
      [dir, /expected a readable token file at .* \(E\w+\)$/],
    ];
    const env = { ...baseEnv(), BUS_EVENTS_API_URL: "http://127.0.0.1:1" };
    for (const [path, reason] of cases) {
      const flag = await runCli(["config", "--token-file", path], env);
      assert.equal(flag.code, 2, path);
      assert.match(flag.stderr.trim(), /^bus-integration: Cannot use --token-file: /);
      assert.match(flag.stderr.trim(), reason);
      const variable = await runCli(["config"], { ...env, BUS_API_TOKEN_FILE: path });
      assert.equal(
        flag.stderr.replace("--token-file", "BUS_API_TOKEN_FILE"),
        variable.stderr,
        "the same words as the variable's",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bus-integration config never echoes the password of a URL that does not parse", async () => {
  const cases: Array<[string[], Record<string, string>]> = [
    [["config"], { BUS_EVENTS_API_URL: "https://admin:hunter2@bus.example:99999" }],
    [["config"], { BUS_EVENTS_API_URL: "https://admin:hunter2@bus example.test" }],
    [["config", "--events-url", "ftp://admin:hunter2@bus.example"], {}],
    [["config"], { BUS_TRANSPORT: "nats", NATS_URL: "admin:hunter2@127.0.0.1:4222" }],
  ];
  for (const [args, extra] of cases) {
    const result = await runCli(args, { ...baseEnv(), BUS_API_TOKEN: "x", ...extra });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /\[redacted\]@/);
    assert.ok(!result.stderr.includes("hunter2"), result.stderr);
  }
});

Deno.test("bus-integration config refuses a query in the Events API URL, naming the variable or flag", async () => {
  const url = "http://127.0.0.1:18080/?access_token=QSECRET";
  const fromEnv = await runCli(["config", "--json"], {
    ...baseEnv(),
    BUS_API_TOKEN: "x",
    BUS_EVENTS_API_URL: url,
  });
  assert.equal(fromEnv.code, 2);
  assert.equal(fromEnv.stdout, "");
  assert.match(
    fromEnv.stderr,
    /^bus-integration: Cannot use BUS_EVENTS_API_URL: .*without a query/,
  );
  const fromFlag = await runCli(["config", "--events-url", url], {
    ...baseEnv(),
    BUS_API_TOKEN: "x",
  });
  assert.equal(fromFlag.code, 2);
  assert.match(fromFlag.stderr, /^bus-integration: Cannot use --events-url: .*without a query/);
  for (const output of [fromEnv, fromFlag]) assert.ok(!output.stderr.includes("QSECRET"));
});

Deno.test("bus-integration redrive to a closed port names the socket error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const result = await runCli(["redrive", "x.dead-letter"], {
    ...baseEnv(),
    BUS_EVENTS_API_URL: `http://127.0.0.1:${port}`,
    BUS_API_TOKEN: "x",
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`Cannot redrive x\\.dead-letter: .*\\(ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`),
  );
});

/** Starts the CLI; resolves with its status and output once it exited. */
function spawnCli(args: string[], env: Record<string, string>) {
  const child = denoCommand(["run", "-A", CLI, ...args], env).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  const collected = Promise.all([
    child.stdout.pipeTo(new WritableStream()),
    child.stderr.pipeTo(
      new WritableStream({ write: (chunk) => void (stderr += decoder.decode(chunk)) }),
    ),
  ]);
  return {
    child,
    get stderr() {
      return stderr;
    },
    async finish() {
      const status = await child.status;
      await collected;
      return status;
    },
  };
}

/** Waits until a handler of `name` published `<name>.started`… by reading it. */
async function firstEvent(server: TestServer, name: string, signal: AbortSignal) {
  for await (const event of server.client.stream({ name, signal })) return event;
  throw new Error(`no ${name}`);
}

Deno.test("bus-integration host exits 1 when the drain timeout abandoned a handler", async () => {
  await using server = await startServer();
  const cli = spawnCli(["host", "tests/fixtures/cli_abandoning_worker.ts"], serverEnv(server));
  const watching = new AbortController();
  try {
    const started = firstEvent(server, "tests.cli.stubborn.started", watching.signal);
    await until(() => /Stream open for tests\.cli\.stubborn\.request/.test(cli.stderr), 20_000);
    await server.client.publish({ name: "tests.cli.stubborn.request" });
    await started;
    cli.child.kill("SIGTERM");
    const status = await cli.finish();
    assert.equal(status.code, 1, cli.stderr);
    assert.match(cli.stderr, /Host stopped, but the drain timeout abandoned 1 handlers/);
    assert.ok(!cli.stderr.includes("Host stopped cleanly"), cli.stderr);
  } finally {
    watching.abort();
    try {
      cli.child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await cli.finish();
  }
});

Deno.test("bus-integration host keeps a token quoted by a handler's error off stderr and /readyz", async () => {
  await using server = await startServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const cli = spawnCli(
    ["host", "--health-port", String(port), "tests/fixtures/cli_token_error_worker.ts"],
    serverEnv(server),
  );
  try {
    await until(() => /Stream open for tests\.cli\.leaky\.request/.test(cli.stderr), 20_000);
    await server.client.publish({ name: "tests.cli.leaky.request" } as EventEnvelope);
    await until(() => /Handler failed/.test(cli.stderr), 10_000, "the failure is logged");
    const readyz = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as HostReport;
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(
      readyz.registrations[0]!.lastError,
      "Error: request failed: Authorization: Bearer [redacted]",
    );
    assert.ok(!page.includes(server.token), "not on the status page");
    cli.child.kill("SIGTERM");
    assert.equal((await cli.finish()).code, 0, cli.stderr);
    assert.match(cli.stderr, /Bearer \[redacted\]/);
    assert.ok(!cli.stderr.includes(server.token), "not on stderr");
  } finally {
    try {
      cli.child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await cli.finish();
  }
});
