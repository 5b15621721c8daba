/**
 * The heap the library itself keeps per idle registration, with no
 * transport cost in it: a `Host` with N registrations (default 1,000), each
 * one name, on a transport whose subscriptions are a read that waits for
 * the stop signal and nothing else — no HTTP, no decoder, no nats.js. What
 * `bench/scale.ts` reports above its floor is this plus the transport's own
 * per-stream objects.
 *
 * Measures the heap after a full GC before and after opening them, in a
 * process where one host of one registration ran first (so module state and
 * compiled code are in the baseline). Its last line is one JSON object:
 * `{"runtime","registrations","heapBytesPerRegistration"}`.
 *
 * Usage: `deno run --v8-flags=--expose-gc bench/scale_library.ts [N]`; on
 * Node (`node --expose-gc`) and Bun as a bundle (`deno bundle --platform
 * deno --format esm -o .bench-out/scale_library.mjs bench/scale_library.ts`).
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on stdout

import process from "node:process";
// The package's own name, so the npm build can compile this file for Node and Bun.
import {
  defineWorker,
  type EventEnvelope,
  type EventSubscription,
  type EventTransport,
  Host,
} from "@bus/integration";
import { canCollect, memory } from "./scale_probe.ts";

/** The least a subscription can be: one batch read that ends when its signal aborts. */
class IdleSubscription implements EventSubscription {
  readonly lastEventId = undefined;
  readonly reconnectHint = undefined;
  readonly redelivers = false;
  readonly #signal: AbortSignal | undefined;

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
  }

  attempt(): number {
    return 1;
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  working(): Promise<void> {
    return Promise.resolve();
  }

  nextBatch(): Promise<readonly EventEnvelope[] | undefined> {
    const signal = this.#signal;
    return new Promise((_, reject) => {
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }

  next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    return this.nextBatch().then(() => ({ done: true, value: undefined }));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const idle: EventTransport = {
  canRefreshCredentials: false,
  publish: (event) => Promise.resolve({ id: undefined, name: event.name }),
  open: (options) => Promise.resolve(new IdleSubscription(options.signal)),
  close: () => Promise.resolve(),
};

/** Runs a host of `count` idle registrations until it is ready; resolves with its stop. */
async function openHost(count: number): Promise<() => Promise<void>> {
  const stop = new AbortController();
  const registrations = Array.from(
    { length: count },
    (_, i) => defineWorker({ name: `l${i}`, names: [`library.l${i}`], handler: () => {} }),
  );
  const host = new Host({ transport: idle, registrations, signal: stop.signal });
  const running = host.run();
  await host.readiness.waitReady();
  return () => {
    stop.abort();
    return running;
  };
}

const count = Number(process.argv[2] ?? 1000);
if (!(Number.isInteger(count) && count > 0)) {
  console.error("Usage: scale_library [registrations]");
  process.exit(2);
}
if (!canCollect) console.log("no forced GC (run with --expose-gc): figures noisier");
await (await openHost(1))();
const before = await memory();
const stop = await openHost(count);
const after = await memory();
await stop();
const versions = process.versions as Record<string, string | undefined>;
console.log(JSON.stringify({
  runtime: versions.deno ? "deno" : versions.bun ? "bun" : `node${versions.node?.split(".")[0]}`,
  registrations: count,
  heapBytesPerRegistration: Math.round((after.heap - before.heap) / count),
}));
process.exit(0);
