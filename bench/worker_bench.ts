/**
 * Worker throughput over loopback: events per second through runWorker()
 * with a trivial handler, against the floor of reading the same stream with
 * client.stream() alone, in the same run. Each iteration reads the same
 * 20,000 retained events (replay) from the reference server.
 *
 * The "reliable" group reads a second corpus of 20,000 events that each
 * carry a unique idempotency key and one of 1,000 ordering keys, through
 * the same worker at concurrency 16 with none of retry, idempotency and
 * ordering (the baseline) and with all three.
 *
 * Run: deno task bench (or deno bench -A bench/worker_bench.ts)
 */
import {
  type EventEnvelope,
  EventsClient,
  MemoryIdempotencyStore,
  runWorker,
  type WorkerOptions,
} from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { z } from "zod";

const EVENTS = 20_000;
const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: EVENTS });
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url });
const payload = { host: "runner-7", script: "uptime", args: ["-p"], attempt: 1 };
/** Publishes `EVENTS` events as `name`, 500 at a time; `extra(n)` adds fields to event n. */
async function publishCorpus(
  name: string,
  extra: (n: number) => Partial<EventEnvelope> = () => ({}),
) {
  for (let i = 0; i < EVENTS; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => {
      const { payload: more, ...fields } = extra(i + j);
      return client.publish({
        name,
        correlationId: crypto.randomUUID(),
        source: "bench",
        ...fields,
        payload: { ...payload, n: i + j, ...(more as object) },
      });
    }));
  }
}
await publishCorpus("bench.work");
const KEYS = 1_000;
await publishCorpus("bench.reliable", (n) => ({
  metadata: { idempotencyKey: crypto.randomUUID() },
  payload: { key: `k${n % KEYS}` },
}));

async function floor() {
  let count = 0;
  for await (const _ of client.stream({ name: "bench.work", replay: true, follow: false })) count++;
  if (count !== EVENTS) throw new Error(`read ${count} of ${EVENTS}`);
}

async function worker(
  concurrency: number,
  name = "bench.work",
  extra: Partial<WorkerOptions> = {},
) {
  const controller = new AbortController();
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  const running = runWorker({
    transport: client,
    names: [name],
    replay: true,
    concurrency,
    ...extra,
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
Deno.bench(
  "runWorker() concurrency 16, zod payload schema",
  options,
  async () =>
    await worker(16, "bench.work", {
      schema: {
        payload: z.object({
          host: z.string(),
          script: z.string(),
          args: z.array(z.string()),
          attempt: z.number(),
        }),
      },
    }),
);

const reliable = { group: "reliable", n: 30, warmup: 5 } as const;
Deno.bench(
  "runWorker() concurrency 16, keyed corpus, none of them",
  { ...reliable, baseline: true },
  async () => await worker(16, "bench.reliable", { idempotency: false }),
);
Deno.bench(
  "runWorker() concurrency 16, keyed corpus, retry + idempotency + ordering",
  reliable,
  async () =>
    await worker(16, "bench.reliable", {
      retry: { attempts: 3, delay: 0 },
      // A fresh store per run: the corpus replays the same keys every time.
      idempotency: { store: new MemoryIdempotencyStore({ maxEntries: EVENTS }) },
      orderingKey: (event: EventEnvelope) => (event.payload as { key: string }).key,
    }),
);

globalThis.addEventListener("unload", () => {
  api.close();
});
