/**
 * Workers under every runtime survive their server *process* being killed
 * (SIGKILL: the connection breaks mid-response, which each runtime's `fetch`
 * reports differently, e.g. Node's `TypeError: terminated`) and restarted on
 * the same port: each reports not-ready with the library's TransientError,
 * reconnects, and answers again.
 */
import assert from "node:assert/strict";
import { EventsClient, Requester } from "../../mod.ts";
import { RoleProcess } from "./_process.ts";
import { startWorkers } from "./_workers.ts";
import { nameOfLabel, type RuntimeName, RUNTIMES, runtimes } from "./_runtimes.ts";

const START_MS = 30_000;
const STEP_MS = 15_000;

const requestName = (name: RuntimeName) => `cross.restart.${name}.request`;

Deno.test("workers under every runtime survive a killed and restarted server process", async () => {
  const all = await runtimes();
  // Shared by both server processes, so the workers' token stays valid.
  const secret = crypto.randomUUID();
  await using stack = new AsyncDisposableStack();
  const first = stack.use(
    new RoleProcess("server under deno", all.deno.role("server", { ROLE_SECRET: secret })),
  );
  const served = await first.report<{ url: string; port: number; token: string }>(
    "ready",
    START_MS,
  );
  const env = { BUS_EVENTS_API_URL: served.url, BUS_API_TOKEN: served.token };
  const workers = await startWorkers(all, stack, env, requestName, START_MS);

  first.kill("SIGKILL");
  await first.exited(STEP_MS);
  const down = await Promise.all(
    workers.map((worker) =>
      worker.report<{ reason: string }>("readiness", STEP_MS, (value) => value.readiness === false)
    ),
  );
  for (const [index, { reason }] of down.entries()) {
    assert.match(reason, /^TransientError: /, workers[index]!.context());
  }

  const second = stack.use(
    new RoleProcess(
      "restarted server under deno",
      all.deno.role("server", { ROLE_SECRET: secret, ROLE_PORT: String(served.port) }),
    ),
  );
  await second.report("ready", START_MS);
  await Promise.all(
    workers.map((worker) =>
      worker.report("readiness", STEP_MS, (value) => value.readiness === true)
    ),
  );

  const requester = new Requester({
    transport: new EventsClient({ baseUrl: served.url, token: served.token }),
    responseNames: RUNTIMES.map((name) => `cross.restart.${name}.response`),
    timeout: STEP_MS,
  });
  try {
    for (const name of RUNTIMES) {
      const answer = await requester.request(requestName(name), { n: 1 }) as { runtime: string };
      assert.equal(nameOfLabel(answer.runtime), name, answer.runtime);
    }
  } finally {
    await requester.close();
  }
});
