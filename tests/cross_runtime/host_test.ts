/**
 * `bus-integration host` under each runtime: hosts examples/echo_worker.ts
 * and a slow worker, reports ready on its health port, survives a restart of
 * the reference server (readiness false, then true, requests answered
 * after), and on SIGTERM drains an in-flight request and exits 0.
 */
import assert from "node:assert/strict";
import { EventsClient, Requester } from "../../mod.ts";
import { createEventsApi } from "../../testing.ts";
import { take } from "../_server.ts";
import { RoleProcess } from "./_process.ts";
import { nameOfLabel, RUNTIMES, runtimes } from "./_runtimes.ts";

const START_MS = 30_000;
const STEP_MS = 15_000;
/** Long enough that SIGTERM surely lands while the handler still works. */
const SLOW_MS = 1_500;

/** The health URL from the CLI's JSON log line `Health endpoints on {url}/healthz …`. */
async function healthUrl(host: RoleProcess): Promise<string> {
  let url: string | undefined;
  await host.until(
    () => {
      for (const line of host.stderr.split("\n")) {
        if (!line.includes("Health endpoints")) continue;
        url = JSON.parse(line).properties?.url;
      }
      return url !== undefined;
    },
    START_MS,
    "health endpoints log line",
  );
  return url!;
}

for (const name of RUNTIMES) {
  Deno.test(`bus-integration host under ${name}: ready, survives a server restart, drains on SIGTERM`, async () => {
    const runtime = (await runtimes())[name];
    const api = createEventsApi({ heartbeatMs: 0 });
    let served = await api.serve({ hostname: "127.0.0.1", port: 0 });
    const port = served.port;
    const token = await api.mintToken();
    const client = new EventsClient({ baseUrl: served.url, token });
    const requester = new Requester({
      transport: client,
      responseNames: ["example.echo.response", "cross.slow.response"],
      reconnect: { min: 50, max: 200 },
      timeout: STEP_MS,
    });
    await using host = new RoleProcess(
      `host under ${name}`,
      runtime.cli([
        "host",
        "--health-port",
        "0",
        "--log-format",
        "json",
        runtime.module("examples/echo_worker.ts"),
        runtime.module("tests/cross_runtime/roles/slow_worker.ts"),
      ], {
        BUS_EVENTS_API_URL: served.url,
        BUS_API_TOKEN: token,
        BUS_EVENTS_LISTENER_RETRY_MIN: "50ms",
        BUS_EVENTS_LISTENER_RETRY_MAX: "200ms",
      }),
    );
    try {
      const health = await healthUrl(host);
      await readyz(host, health, 200);
      assert.deepEqual(await requester.request("example.echo.request", { n: 1 }), {
        echo: { n: 1 },
      });

      await served.close();
      await readyz(host, health, 503);
      served = await api.serve({ hostname: "127.0.0.1", port });
      await readyz(host, health, 200);
      assert.deepEqual(await requester.request("example.echo.request", { n: 2 }), {
        echo: { n: 2 },
      });

      const slow = requester.request("cross.slow.request", { ms: SLOW_MS });
      slow.catch(() => {}); // awaited below
      await take(client.stream({ name: "cross.slow.started", replay: true }), 1);
      host.kill("SIGTERM");
      const answer = await slow as { slept: number; runtime: string };
      assert.equal(answer.slept, SLOW_MS);
      assert.equal(nameOfLabel(answer.runtime), name, answer.runtime);
      const status = await host.exited(STEP_MS);
      assert.equal(status.code, 0, host.context());
      assert.match(host.stderr, /Host stopped cleanly/, host.context());
    } finally {
      await requester.close();
      await api.close();
    }
  });
}

/** Polls `GET {url}/readyz` until it answers `status`, with a deadline. */
async function readyz(host: RoleProcess, url: string, status: number): Promise<void> {
  const deadline = Date.now() + STEP_MS;
  let last: number | string = "none";
  while (last !== status) {
    if (host.exitStatus !== undefined || Date.now() > deadline) {
      throw new Error(
        `${host.label}: /readyz never answered ${status} (last ${last})${host.context()}`,
      );
    }
    try {
      const response = await fetch(`${url}/readyz`);
      await response.body?.cancel();
      last = response.status;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (last !== status) await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
