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
import { z } from "zod";
import type { WorkerOptions } from "../mod.ts";
import { EVENTS, readThrough, reliableOptions, serveCorpora } from "./worker_corpus.ts";

const corpora = await serveCorpora();
const client = corpora.client;

async function floor() {
  let count = 0;
  for await (const _ of client.stream({ name: "bench.work", replay: true, follow: false })) count++;
  if (count !== EVENTS) throw new Error(`read ${count} of ${EVENTS}`);
}

const worker = (concurrency: number, name = "bench.work", extra: Partial<WorkerOptions> = {}) =>
  readThrough(client, concurrency, name, extra);

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
  async () => await worker(16, "bench.reliable", reliableOptions()),
);

globalThis.addEventListener("unload", () => {
  corpora.close();
});
