/**
 * Unicast workers in separate processes (tests/fixtures/nats_worker.ts)
 * sharing one group on a real nats-server: 3,000 requests through three of
 * them, each handled by exactly one unless redelivered; and a worker killed
 * with SIGKILL while it holds events, which another worker then answers
 * within ackWait + 1 s.
 */
import assert from "node:assert/strict";
import { Requester } from "../mod.ts";
import { connectNats } from "../nats.ts";
import { baseEnv } from "./_child.ts";
import { RoleProcess } from "./cross_runtime/_process.ts";
import { type NatsServer, natsTest, startNatsServer } from "./_nats_server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const READY_MS = 30_000;

function startWorker(server: NatsServer, worker: string, env: Record<string, string> = {}) {
  return new RoleProcess(`worker ${worker}`, {
    command: Deno.execPath(),
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      "tests/fixtures/nats_worker.ts",
    ],
    cwd: ROOT,
    env: { ...baseEnv(), NATS_URL: server.url, WORKER: worker, ...env },
  });
}

interface Stopped {
  worker: string;
  handled: Array<[string, number]>;
}

natsTest(
  "3,000 requests through 3 worker processes of one group: all answered, each handled by one unless redelivered",
  async () => {
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    await using stack = new AsyncDisposableStack();
    const workers = ["w1", "w2", "w3"].map((name) => stack.use(startWorker(server, name)));
    await Promise.all(workers.map((worker) => worker.report("ready", READY_MS)));
    const requester = new Requester({
      transport,
      responseNames: ["load.echo.response"],
      timeout: 30_000,
    });
    const answeredBy = new Map<string, number>();
    try {
      let next = 0;
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (next < 3_000) {
          const n = next++;
          const answer = await requester.request("load.echo.request", { n }) as {
            echo: { n: number };
            worker: string;
          };
          assert.equal(answer.echo.n, n);
          answeredBy.set(answer.worker, (answeredBy.get(answer.worker) ?? 0) + 1);
        }
      }));
    } finally {
      await requester.close();
    }
    for (const worker of workers) worker.kill("SIGTERM");
    const reports = await Promise.all(
      workers.map((worker) => worker.report<Stopped>("stopped", 15_000)),
    );
    const deliveries = new Map<string, number[]>();
    for (const { handled } of reports) {
      for (const [id, attempt] of handled) {
        deliveries.set(id, [...deliveries.get(id) ?? [], attempt]);
      }
    }
    assert.equal(deliveries.size, 3_000, "every request was handled");
    // Nothing failed, so nothing was redelivered: each exactly once, first delivery.
    assert.deepEqual(
      [...deliveries.values()].filter((attempts) => attempts.length !== 1 || attempts[0] !== 1),
      [],
    );
    assert.equal([...answeredBy.values()].reduce((sum, count) => sum + count, 0), 3_000);
    assert.equal(answeredBy.size, 3, `all three workers took a share: ${[...answeredBy]}`);
  },
);

natsTest(
  "a worker killed with SIGKILL while holding events: another answers each within ackWait + 1 s",
  async () => {
    const ackWait = 2_000;
    await using server = await startNatsServer();
    await using transport = await connectNats({ servers: server.url });
    await using victim = startWorker(server, "victim", {
      ACK_WAIT_MS: String(ackWait),
      HOLD_MS: "600000",
      REPORT_STARTS: "1",
      CONCURRENCY: "8",
    });
    await victim.report("ready", READY_MS);
    const requester = new Requester({
      transport,
      responseNames: ["load.echo.response"],
      timeout: 20_000,
    });
    try {
      // Each answer with the moment it came, observed from the start.
      const answers = Array.from(
        { length: 5 },
        (_, n) =>
          (requester.request("load.echo.request", { n }) as Promise<{ worker: string }>)
            .then((value) => ({ value, at: performance.now() })),
      );
      for (const answer of answers) answer.catch(() => {}); // awaited below
      const held = await Promise.all(
        [0, 1, 2, 3, 4].map((k) =>
          victim.report<{ started: string }>(
            "started",
            10_000,
            (line) => line.started === String(k + 1),
          )
        ),
      );
      assert.equal(held.length, 5);
      await using survivor = startWorker(server, "survivor", { ACK_WAIT_MS: String(ackWait) });
      await survivor.report("ready", READY_MS);
      victim.kill("SIGKILL");
      const killedAt = performance.now();
      const settled = await Promise.all(answers);
      assert.deepEqual(settled.map(({ value }) => value.worker), Array(5).fill("survivor"));
      const slowest = Math.max(...settled.map(({ at }) => at - killedAt));
      assert.ok(slowest <= ackWait + 1_000, `answered ${slowest.toFixed(0)} ms after the kill`);
      survivor.kill("SIGTERM");
      const { handled } = await survivor.report<Stopped>("stopped", 15_000);
      assert.deepEqual(handled.map(([, attempt]) => attempt), Array(5).fill(2), "redeliveries");
    } finally {
      await requester.close();
    }
  },
);
