/**
 * Worker throughput over loopback: events per second through runWorker()
 * with a trivial handler, against the floor of reading the same stream with
 * client.stream() alone, in the same run. Each iteration reads the same
 * 20,000 retained events (replay) from the reference server.
 *
 * Run: deno task bench (or deno bench -A bench/worker_bench.ts)
 */
import { EventsClient, runWorker } from "../mod.ts";
import { createEventsApi } from "../testing.ts";

const EVENTS = 20_000;
const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: EVENTS });
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url });
const payload = { host: "runner-7", script: "uptime", args: ["-p"], attempt: 1 };
for (let i = 0; i < EVENTS; i += 500) {
  await Promise.all(Array.from({ length: 500 }, (_, j) =>
    client.publish({
      name: "bench.work",
      correlationId: crypto.randomUUID(),
      source: "bench",
      payload: { ...payload, n: i + j },
    })));
}

async function floor() {
  let count = 0;
  for await (const _ of client.stream({ name: "bench.work", replay: true, follow: false })) count++;
  if (count !== EVENTS) throw new Error(`read ${count} of ${EVENTS}`);
}

async function worker(concurrency: number) {
  const controller = new AbortController();
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  const running = runWorker({
    transport: client,
    names: ["bench.work"],
    replay: true,
    concurrency,
    signal: controller.signal,
    handler: () => {
      if (++handled === EVENTS) done();
    },
  });
  await all;
  controller.abort();
  await running;
}

const options = { group: "worker", n: 30, warmup: 5 } as const;
Deno.bench("client.stream() alone (floor)", { ...options, baseline: true }, floor);
Deno.bench("runWorker() concurrency 1", options, async () => await worker(1));
Deno.bench("runWorker() concurrency 16", options, async () => await worker(16));

globalThis.addEventListener("unload", () => {
  api.close();
});
