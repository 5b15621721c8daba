/**
 * A worker under runtime X answers a requester under runtime Y, for all 16
 * pairs of Deno, Node 20, Node 24 and Bun, each role in its own process,
 * against the reference server on loopback (served in this process).
 *
 * Four workers listen on one request name each; four requesters, one at a
 * time, send a few requests to every worker and report who answered. That
 * covers every pair with eight processes, at most five alive at once and
 * two busy.
 */
import assert from "node:assert/strict";
import { startServer } from "../_server.ts";
import { RoleProcess } from "./_process.ts";
import { startWorkers } from "./_workers.ts";
import { nameOfLabel, type RuntimeName, RUNTIMES, runtimes } from "./_runtimes.ts";

const PER_PAIR = 5;
const START_MS = 30_000;
const REQUESTS_MS = 30_000;
const DRAIN_MS = 15_000;

/** The request name the worker under `name` answers. */
const requestName = (name: RuntimeName) => `cross.echo.${name}.request`;

interface RequesterReport {
  runtime: string;
  inspected: string;
  templated: string;
  results: Record<string, { answered: number; wrong: number; runtimes: string[] }>;
}

Deno.test("worker under X answers requester under Y for every pair of deno, node20, node24, bun", async () => {
  const all = await runtimes();
  await using server = await startServer();
  const env = { BUS_EVENTS_API_URL: server.served.url, BUS_API_TOKEN: server.token };
  await using stack = new AsyncDisposableStack();
  const workers = await startWorkers(all, stack, env, requestName, START_MS);

  // "5/5 by node24" per cell, so one failure shows the whole matrix.
  const matrix: Record<string, Record<string, string>> = {};
  const expected: Record<string, Record<string, string>> = {};
  for (const y of RUNTIMES) {
    await using requester = new RoleProcess(
      `requester under ${y}`,
      all[y].role("requester", {
        ...env,
        ROLE_TARGETS: RUNTIMES.map(requestName).join(","),
        ROLE_COUNT: String(PER_PAIR),
      }),
    );
    const report = await requester.report<RequesterReport>("results", REQUESTS_MS);
    const status = await requester.exited(REQUESTS_MS);
    assert.equal(status.code, 0, requester.context());
    assert.ok(report.runtime.startsWith(all[y].label), report.runtime);
    for (const shown of [report.inspected, report.templated]) {
      assert.ok(!shown.includes(server.token), `requester under ${y} shows the token: ${shown}`);
      assert.match(shown, /EventsClient\(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/events\)/);
    }
    for (const x of RUNTIMES) {
      const result = report.results[requestName(x)];
      const by = result?.runtimes.map(nameOfLabel).join("+") ?? "?";
      (matrix[`worker ${x}`] ??= {})[`requester ${y}`] = `${result?.answered}/${PER_PAIR} by ${by}`;
      (expected[`worker ${x}`] ??= {})[`requester ${y}`] = `${PER_PAIR}/${PER_PAIR} by ${x}`;
    }
  }
  assert.deepEqual(matrix, expected);

  // Each worker drains on SIGTERM and then ends by itself: nothing the
  // library left open (a timer, a socket, a pending read) keeps it alive.
  for (const worker of workers) worker.kill("SIGTERM");
  for (const worker of workers) {
    const stopped = await worker.report<{ handled: number }>("stopped", DRAIN_MS);
    const status = await worker.exited(DRAIN_MS);
    assert.equal(status.code, 0, worker.context());
    assert.equal(stopped.handled, PER_PAIR * RUNTIMES.length, worker.context());
  }
});
