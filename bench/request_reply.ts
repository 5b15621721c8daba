/**
 * Request/reply through the reference server on loopback, set against the
 * floor of the same raw work per round trip in the same run: two `fetch`
 * POSTs (request, response) and two stream deliveries (to the worker, back
 * to the requester), hand-rolled with no library code.
 *
 * Prints round-trip latency p50/p99 with one request in flight, round trips
 * per second with 1, 16 and 128 in flight, and heap bytes per pending
 * request against a bare `Map` entry + promise + `setTimeout` + 36-character
 * id. Runs on Deno (`deno task bench`), and on Node and Bun from the npm
 * build (`bash bench/run_request_reply.sh` runs all three).
 *
 * Floor and library alternate for `rounds` rounds per level (each round's
 * ratio is taken within the round, so a busy machine slows both alike);
 * the figures are the medians, with the range of the ratios. Each round
 * also runs the library with the worker's replies passing `discardId` (a
 * handler that never reads its reply's id), reported beside it.
 *
 * Usage: `<runtime> request_reply.{ts,js} [round trips per level] [rounds]`
 *
 * @module
 */
// deno-lint-ignore-file no-console

import process from "node:process";
// The package's own name, so the npm build can compile this file for Node and Bun.
import { EventsClient, ListenerReadiness, Requester, runWorker } from "@bus/integration";
import { createEventsApi } from "@bus/integration/testing";

type Host = {
  Deno?: { args: string[]; memoryUsage(): { heapUsed: number } };
  Bun?: unknown;
  process?: { argv: string[]; memoryUsage(): { heapUsed: number } };
  gc?: () => void;
};
const host = globalThis as Host;
const runtime = host.Deno ? "deno" : host.Bun ? "bun" : "node";
const args = host.Deno ? host.Deno.args : (host.process?.argv ?? []).slice(2);
const perLevel = Number(args[0] ?? 3000);
const rounds = Number(args[1] ?? 3);

const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: 100 });
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const base = served.url;

/** Runs `count` round trips with `inFlight` at once; returns each one's latency in ms. */
async function drive(
  roundTrip: (n: number) => Promise<void>,
  count: number,
  inFlight: number,
): Promise<{ perSecond: number; cpuPerTrip: number; latencies: number[] }> {
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const n = next++;
      const t = performance.now();
      await roundTrip(n);
      latencies.push(performance.now() - t);
    }
  }));
  const cpu = process.cpuUsage(cpuBefore);
  return {
    perSecond: count / ((performance.now() - started) / 1000),
    // This process's CPU time (the server's too) per round trip, in µs.
    cpuPerTrip: (cpu.user + cpu.system) / count,
    latencies,
  };
}

/**
 * Numbers the runs: each run of a case listens to names of its own, since
 * the server may not notice that the streams of the run before were closed
 * until it writes to them, and a unicast request it hands such a stale
 * consumer is lost (a floor waited forever, a request waited for its
 * timeout).
 */
let runs = 0;

// ---- the floor: the same four transfers, no library ------------------------

/** Reads NDJSON lines from a raw stream response, calling `onLine` for each. */
async function readLines(url: string, onLine: (line: string) => void, signal: AbortSignal) {
  const response = await fetch(url, { signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line.length > 0) onLine(line);
      }
    }
  } catch {
    // aborted at the end of the run
  }
}

function post(body: string): Promise<void> {
  return fetch(`${base}/api/v1/events`, { method: "POST", body }).then((r) => r.body?.cancel());
}

async function floor(count: number, inFlight: number) {
  const stop = new AbortController();
  const waiting = new Map<string, () => void>();
  const stream = (name: string, extra = "") => `${base}/api/v1/events/stream?name=${name}${extra}`;
  const tag = `floor${++runs}`;
  readLines(stream(`${tag}.request`, `&delivery=unicast&group=${tag}`), (line) => {
    const event = JSON.parse(line);
    post(JSON.stringify({ name: `${tag}.response`, correlationId: event.correlationId }));
  }, stop.signal);
  readLines(stream(`${tag}.response`), (line) => {
    const event = JSON.parse(line);
    waiting.get(event.correlationId)?.();
    waiting.delete(event.correlationId);
  }, stop.signal);
  // Both streams are open once a probe goes all the way round.
  for (let probe = 0;; probe++) {
    const id = `probe-${probe}`;
    const back = new Promise<boolean>((resolve) => {
      waiting.set(id, () => resolve(true));
      setTimeout(() => resolve(false), 20);
    });
    post(JSON.stringify({ name: `${tag}.request`, correlationId: id }));
    if (await back) break;
    waiting.delete(id);
  }
  const result = await drive(
    (n) =>
      new Promise<void>((resolve) => {
        const id = `${n}-${crypto.randomUUID()}`;
        waiting.set(id, resolve);
        post(JSON.stringify({ name: `${tag}.request`, correlationId: id, payload: n }));
      }),
    count,
    inFlight,
  );
  stop.abort();
  return result;
}

// ---- the library: runWorker + Requester ------------------------------------

/**
 * The echo worker and requester; with `discardReplyIds` the worker's
 * replies pass `discardId`, as a handler that never reads its reply's id
 * may (the floor does not read its answers either).
 */
async function library(count: number, inFlight: number, discardReplyIds = false) {
  const replyInit = discardReplyIds ? { discardId: true } : undefined;
  const tag = `lib${++runs}`;
  const client = new EventsClient({ baseUrl: base });
  const stop = new AbortController();
  const workerReady = new ListenerReadiness();
  const worker = runWorker({
    transport: client,
    names: [`${tag}.request`],
    delivery: "unicast",
    group: tag,
    concurrency: 128,
    readiness: workerReady,
    signal: stop.signal,
    handler: (event, publisher) => publisher.reply(event.payload, replyInit),
  });
  const requester = new Requester({
    transport: client,
    responseNames: [`${tag}.response`],
    signal: stop.signal,
  });
  await workerReady.waitReady();
  await requester.readiness.waitReady();
  const result = await drive(
    async (n) => void await requester.request(`${tag}.request`, n),
    count,
    inFlight,
  );
  stop.abort();
  await worker;
  await requester.close();
  return result;
}

// ---- heap per pending request ---------------------------------------------

/** The least of a few readings, each after an event-loop turn and a full GC. */
async function heapUsed(): Promise<number> {
  let least = Infinity;
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 3; i++) host.gc?.();
    least = Math.min(least, (host.Deno ?? host.process)!.memoryUsage().heapUsed);
  }
  return least;
}

const PENDING = 20_000;

async function floorBytesPerPending(): Promise<number> {
  const map = new Map<string, { resolve: () => void; timer: ReturnType<typeof setTimeout> }>();
  const promises: Promise<void>[] = [];
  const before = await heapUsed();
  for (let i = 0; i < PENDING; i++) {
    const id = crypto.randomUUID();
    promises.push(
      new Promise<void>((resolve) => {
        map.set(id, { resolve, timer: setTimeout(resolve, 60_000) });
      }),
    );
  }
  const after = await heapUsed();
  for (const entry of map.values()) clearTimeout(entry.timer);
  // Emptied, not just dropped: JSC scans the stack conservatively, and a
  // stale pointer to the map kept all 20,000 entries alive into the
  // library's first reading on Bun (which then came out at 178 B, not 636).
  map.clear();
  promises.length = 0;
  return (after - before) / PENDING;
}

async function libraryBytesPerPending(): Promise<number> {
  // In process, so the server's sockets do not count; nobody answers.
  const client = new EventsClient({ baseUrl: base, fetch: (request) => api.fetch(request) });
  const requester = new Requester({
    transport: client,
    responseNames: ["heap.response"],
    maxPending: PENDING,
    timeout: 60_000,
  });
  await requester.readiness.waitReady();
  const publishedBefore = api.stats.published;
  const before = await heapUsed();
  const pending = Array.from(
    { length: PENDING },
    () => requester.request("heap.request", null).catch(() => {}),
  );
  // Let every publish finish so only the pending entries remain.
  while (api.stats.published < publishedBefore + PENDING) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const after = await heapUsed();
  await requester.close();
  await Promise.all(pending);
  return (after - before) / PENDING;
}

// ---- run -------------------------------------------------------------------

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

// Heap first, while nothing else has run: later runs leave pools and
// sockets whose release would blur the difference.
if (host.gc) {
  const floorBytes = await floorBytesPerPending();
  const libraryBytes = await libraryBytesPerPending();
  console.log(
    `${runtime} heap per pending request: floor ${floorBytes.toFixed(0)} B, library ${
      libraryBytes.toFixed(0)
    } B, ×${(libraryBytes / floorBytes).toFixed(2)}`,
  );
} else {
  console.log(
    `${runtime} heap per pending request: skipped (run with the runtime's expose-gc flag)`,
  );
}

await floor(500, 16); // warm up every path
await library(500, 16);
await library(500, 16, true);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const rows: string[][] = [];
for (const inFlight of [1, 16, 128]) {
  const count = inFlight === 1 ? Math.min(perLevel, 1000) : perLevel;
  // Floor and library alternate, round after round, so a busy machine slows
  // both alike; each round's ratio is taken within the round.
  const floors: number[] = [];
  const libraries: number[] = [];
  const ratios: number[] = [];
  const discardRatios: number[] = [];
  // Floor CPU per round trip over the library's: like the rate ratio on an
  // idle machine (the work is CPU-bound in this process), but hardly moved
  // by other processes taking turns on the cores, which the rates are.
  const cpuRatios: number[] = [];
  const discardCpuRatios: number[] = [];
  let floorLatencies: number[] = [];
  let libraryLatencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Each round starts with a different case, so none always runs first
    // (on a warmer or colder machine) or last.
    const cases = [
      () => floor(count, inFlight),
      () => library(count, inFlight),
      () => library(count, inFlight, true),
    ];
    const results: Array<Awaited<ReturnType<typeof floor>>> = [];
    for (let i = 0; i < cases.length; i++) {
      const at = (i + round) % cases.length;
      results[at] = await cases[at]!();
    }
    const [f, l, d] = results as [typeof results[0], typeof results[0], typeof results[0]];
    floors.push(f.perSecond);
    libraries.push(l.perSecond);
    ratios.push(l.perSecond / f.perSecond);
    discardRatios.push(d.perSecond / f.perSecond);
    cpuRatios.push(f.cpuPerTrip / l.cpuPerTrip);
    discardCpuRatios.push(f.cpuPerTrip / d.cpuPerTrip);
    floorLatencies = floorLatencies.concat(f.latencies);
    libraryLatencies = libraryLatencies.concat(l.latencies);
  }
  const spread = (values: number[]) =>
    `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  rows.push([
    `${inFlight} in flight`,
    median(floors).toFixed(0),
    median(libraries).toFixed(0),
    median(ratios).toFixed(2),
    spread(ratios),
    median(discardRatios).toFixed(2),
    spread(discardRatios),
    median(cpuRatios).toFixed(2),
    spread(cpuRatios),
    median(discardCpuRatios).toFixed(2),
    spread(discardCpuRatios),
  ]);
  if (inFlight === 1) {
    console.log(
      `${runtime} latency, 1 in flight: floor p50 ${
        percentile(floorLatencies, 0.5).toFixed(2)
      } ms p99 ${percentile(floorLatencies, 0.99).toFixed(2)} ms; library p50 ${
        percentile(libraryLatencies, 0.5).toFixed(2)
      } ms p99 ${percentile(libraryLatencies, 0.99).toFixed(2)} ms`,
    );
  }
}
console.log(
  `${runtime} round trips per second (library / floor), median of ${rounds} alternating rounds:`,
);
for (const row of rows) {
  console.log(
    `  ${row[0]!.padEnd(14)} floor ${row[1]}  library ${row[2]}  ×${row[3]} (rounds ${
      row[4]
    }); replies with discardId ×${row[5]} (rounds ${row[6]})\n` +
      `  ${"".padEnd(14)} by CPU per round trip: library ×${row[7]} (rounds ${row[8]});` +
      ` replies with discardId ×${row[9]} (rounds ${row[10]})`,
  );
}
await api.close();
