/**
 * On NATS JetStream: a worker under X answers a requester under Y for every
 * pair of the suite's runtimes (Deno and, from the npm build, each Node and
 * Bun of `RUNTIMES`), each role in its own process
 * (`roles/nats_worker.ts`, `roles/nats_requester.ts`), against one real
 * nats-server with user/password authentication, started by this process.
 */
import assert from "node:assert/strict";
import { RoleProcess } from "./_process.ts";
import { nameOfLabel, type RuntimeName, RUNTIMES, runtimes } from "./_runtimes.ts";
import { natsTest, startNatsServer } from "../_nats_server.ts";

const PER_PAIR = 5;
const START_MS = 30_000;
const REQUESTS_MS = 30_000;
const DRAIN_MS = 15_000;
const PASSWORD = "cross-runtime-secret";

/** The request name the worker under `name` answers. */
const requestName = (name: RuntimeName) => `cross.nats.${name}.request`;

interface RequesterReport {
  runtime: string;
  inspected: string;
  templated: string;
  results: Record<string, { answered: number; wrong: number; runtimes: string[] }>;
}

natsTest(
  "NATS worker under X answers NATS requester under Y for every pair of runtimes",
  async () => {
    const all = await runtimes();
    await using server = await startNatsServer({ args: ["--user", "bus", "--pass", PASSWORD] });
    const env = { NATS_URL: server.url, NATS_USER: "bus", NATS_PASSWORD: PASSWORD };
    await using stack = new AsyncDisposableStack();
    const workers = RUNTIMES.map((name) =>
      stack.use(
        new RoleProcess(
          `NATS worker under ${name}`,
          all[name].role("nats_worker", { ...env, ROLE_REQUEST_NAME: requestName(name) }),
        ),
      )
    );
    await Promise.all(workers.map((worker) => worker.report("ready", START_MS)));

    const matrix: Record<string, Record<string, string>> = {};
    const expected: Record<string, Record<string, string>> = {};
    for (const y of RUNTIMES) {
      await using requester = new RoleProcess(
        `NATS requester under ${y}`,
        all[y].role("nats_requester", {
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
        assert.equal(shown, `NatsTransport(127.0.0.1:${server.port})`, `under ${y}`);
      }
      for (const x of RUNTIMES) {
        const result = report.results[requestName(x)];
        const by = result?.runtimes.map(nameOfLabel).join("+") ?? "?";
        (matrix[`worker ${x}`] ??= {})[`requester ${y}`] =
          `${result?.answered}/${PER_PAIR} by ${by}`;
        (expected[`worker ${x}`] ??= {})[`requester ${y}`] = `${PER_PAIR}/${PER_PAIR} by ${x}`;
      }
    }
    assert.deepEqual(matrix, expected);

    // Each worker drains on SIGTERM, closes its connection and ends by itself.
    for (const worker of workers) worker.kill("SIGTERM");
    for (const worker of workers) {
      const stopped = await worker.report<{ handled: number }>("stopped", DRAIN_MS);
      const status = await worker.exited(DRAIN_MS);
      assert.equal(status.code, 0, worker.context());
      assert.equal(stopped.handled, PER_PAIR * RUNTIMES.length, worker.context());
    }
  },
);
