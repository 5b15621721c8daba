/**
 * `bus-integration` with `BUS_TRANSPORT=nats`: `config` shows the NATS
 * settings (never a credential), a bad `BUS_TRANSPORT` exits 2, `host` runs
 * the echo example on a real nats-server and drains on SIGTERM, and refused
 * credentials exit 1 at once.
 */
import assert from "node:assert/strict";
import { Requester } from "../mod.ts";
import { connectNats } from "../nats.ts";
import { baseEnv, runDeno } from "./_child.ts";
import { RoleProcess } from "./cross_runtime/_process.ts";
import { freePort, natsTest, startNatsServer } from "./_nats_server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SECRET = "pa55-w0rd-never-shown";

function cli(args: string[], env: Record<string, string>) {
  return runDeno(["run", "-A", "cli.ts", ...args], { ...baseEnv(), ...env });
}

Deno.test("bus-integration config --json shows the NATS transport without credentials", async () => {
  const result = await cli(["config", "--json"], {
    BUS_TRANSPORT: "nats",
    NATS_URL: "nats://127.0.0.1:4222,nats://127.0.0.1:4223",
    NATS_USER: "alice",
    NATS_PASSWORD: SECRET,
    BUS_NATS_ACK_WAIT: "10s",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.includes(SECRET), "the password is never shown");
  const shown = JSON.parse(result.stdout);
  assert.deepEqual(shown.transport, { value: "nats", source: "env BUS_TRANSPORT" });
  assert.deepEqual(shown.natsServers, {
    value: "nats://127.0.0.1:4222,nats://127.0.0.1:4223",
    source: "env NATS_URL",
  });
  assert.deepEqual(shown.natsCredentials, {
    value: "[redacted]",
    source: "env NATS_USER and NATS_PASSWORD",
  });
  assert.deepEqual(shown.natsAckWaitMs, { value: 10_000, source: "env BUS_NATS_ACK_WAIT" });
  assert.deepEqual(shown.natsStream, { value: "BUS_EVENTS", source: "default" });
  assert.equal(shown.eventsUrl, undefined, "no Events API is needed");
});

Deno.test("bus-integration config shows the HTTP transport as the default", async () => {
  const result = await cli(["config", "--json"], {
    BUS_EVENTS_API_URL: "http://127.0.0.1:1",
    BUS_API_TOKEN: "t",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).transport, { value: "http", source: "default" });
});

Deno.test("bus-integration exits 2 on a bad BUS_TRANSPORT or NATS variable", async () => {
  const bad = await cli(["host", "examples/echo_worker.ts"], { BUS_TRANSPORT: "grpc" });
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /Cannot use BUS_TRANSPORT: current value is "grpc", expected http or nats/,
  );
  const noUrl = await cli(["config"], { BUS_TRANSPORT: "nats" });
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /Cannot use NATS_URL: current value is unset/);
});

natsTest(
  "bus-integration host runs on NATS with BUS_TRANSPORT=nats and drains on SIGTERM",
  async () => {
    await using server = await startNatsServer();
    const port = await freePort();
    await using host = new RoleProcess("bus-integration host", {
      command: Deno.execPath(),
      args: [
        "run",
        "-A",
        "cli.ts",
        "host",
        "--health-port",
        String(port),
        "examples/echo_worker.ts",
      ],
      cwd: ROOT,
      env: { ...baseEnv(), BUS_TRANSPORT: "nats", NATS_URL: server.url },
    });
    await host.until(() => /Registration echo is ready/.test(host.stderr), 30_000, "readiness");
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    assert.match(host.stderr, new RegExp(`hosting .*echo.* on NATS ${server.url}`));
    await using transport = await connectNats({ servers: server.url });
    const requester = new Requester({ transport, responseNames: ["example.echo.response"] });
    try {
      assert.deepEqual(await requester.request("example.echo.request", "ping"), { echo: "ping" });
    } finally {
      await requester.close();
    }
    host.kill("SIGTERM");
    assert.equal((await host.exited(15_000)).code, 0, host.context());
  },
);

natsTest(
  "bus-integration host exits 1 at once when the NATS server refuses the credentials",
  async () => {
    await using server = await startNatsServer({ args: ["--user", "alice", "--pass", SECRET] });
    const result = await cli(["host", "examples/echo_worker.ts"], {
      BUS_TRANSPORT: "nats",
      NATS_URL: server.url,
      NATS_USER: "alice",
      NATS_PASSWORD: "wrong-password",
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /the NATS server refused the credentials/);
    assert.ok(!result.stderr.includes("wrong-password") && !result.stderr.includes(SECRET));
  },
);
