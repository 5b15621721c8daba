/**
 * The worker benchmarks' corpora and their worker, shared by
 * `bench/worker_bench.ts` and `bench/reliable_pairs.ts`: a reference server
 * retaining 20,000 plain events (`bench.work`) and 20,000 keyed ones
 * (`bench.reliable`: each with a unique idempotency key and one of 1,000
 * ordering keys), and a worker that reads one of them through by replay.
 *
 * @module
 */
import {
  type EventEnvelope,
  EventsClient,
  MemoryIdempotencyStore,
  runWorker,
  type WorkerOptions,
} from "../mod.ts";
import { createEventsApi } from "../testing.ts";

/** Events in each corpus. */
export const EVENTS = 20_000;
/** Ordering keys the keyed corpus cycles through. */
export const KEYS = 1_000;

/** Publishes in flight at once while a corpus is published. */
const BURST = 100;
const payload = { host: "runner-7", script: "uptime", args: ["-p"], attempt: 1 };

/** A reference server holding both corpora, and a client of it. */
export interface CorpusServer {
  client: EventsClient;
  close(): void;
}

/** Serves both corpora on a free loopback port. */
export async function serveCorpora(): Promise<CorpusServer> {
  const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: EVENTS });
  const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const client = new EventsClient({ baseUrl: served.url });
  await publishCorpus(client, "bench.work");
  await publishCorpus(client, "bench.reliable", (n) => ({
    metadata: { idempotencyKey: crypto.randomUUID() },
    payload: { key: `k${n % KEYS}` },
  }));
  return { client, close: () => api.close() };
}

/**
 * Publishes `EVENTS` events as `name`, 100 at a time (each holds a
 * connection at both ends: more at once ran out of file descriptors under
 * CI's limit of 1,024); `extra(n)` adds fields to event n.
 */
async function publishCorpus(
  client: EventsClient,
  name: string,
  extra: (n: number) => Partial<EventEnvelope> = () => ({}),
): Promise<void> {
  for (let i = 0; i < EVENTS; i += BURST) {
    await Promise.all(Array.from({ length: BURST }, (_, j) => {
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

/**
 * Reads corpus `name` through a worker at `concurrency` with a trivial
 * handler, `extra` added to its options; resolves once it handled every
 * event and stopped. `run` is the `runWorker` of the library copy under
 * test (`bench/compare_checkouts.ts` reads two), this checkout's by
 * default.
 */
export async function readThrough(
  client: EventsClient,
  concurrency: number,
  name: string,
  extra: Partial<WorkerOptions> = {},
  run: typeof runWorker = runWorker,
): Promise<void> {
  const controller = new AbortController();
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  const running = run({
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

/** The keyed corpus's ordering key. */
export const orderingKey = (event: EventEnvelope): string => (event.payload as { key: string }).key;

/**
 * Retry, idempotency and ordering together, as the worker table's row has
 * them: a fresh store per read (the corpus replays the same keys every
 * time), unless `store` is given.
 */
export function reliableOptions(store?: MemoryIdempotencyStore): Partial<WorkerOptions> {
  return {
    retry: { attempts: 3, delay: 0 },
    idempotency: { store: store ?? new MemoryIdempotencyStore({ maxEntries: EVENTS }) },
    orderingKey,
  };
}
