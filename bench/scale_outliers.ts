/**
 * Where the slow publishes of `bench/scale.ts --transport nats` come from.
 * Against its own `nats-server`, it runs `warm-up` pairs of rounds that are
 * not counted, then `pairs` pairs of rounds with N listeners open and with
 * 1 (the same rounds as `bench/scale.ts`), and prints per round: p50, p99,
 * how many of its slowest 1 % overlapped a GC and its p99 without the
 * publishes that did (GCs from `PerformanceObserver`, Node only), where in
 * the round the slowest 1 % fell, and the client's CPU time per publish;
 * then, pooled, the N/1 ratio of several quantiles, of CPU per publish,
 * and how many consumers the server holds in each state.
 *
 * Usage: `<runtime> scale_outliers.{ts,js} [listeners] [pairs] [samples] [warm-up]`
 * (defaults 1000, 24, 500, 4).
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a probe reports on stdout

import process from "node:process";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats, type NatsTransport } from "@bus/integration/nats";
import { startNatsServer } from "../tests/_nats_server.ts";
import { bootstrapRatioInterval, percentile } from "./scale_probe.ts";
import { type TimedPublishes, timedPublishes, withHost } from "./scale_rounds.ts";

const [listeners = 1000, pairs = 24, samples = 500, warmUp = 4] = process.argv.slice(2)
  .map(Number);

/** Every GC the runtime reports, in `performance.now()` time; none where it reports none. */
const gcs: { start: number; end: number }[] = [];
try {
  const { PerformanceObserver } = await import("node:perf_hooks");
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcs.push({ start: entry.startTime, end: entry.startTime + entry.duration });
    }
  }).observe({ entryTypes: ["gc"] });
} catch {
  console.log("no GC entries on this runtime: the GC columns count none");
}

/** Whether a GC ran during the `i`-th publish of `timed`. */
function inGc(timed: TimedPublishes, i: number): boolean {
  const start = timed.starts[i]!;
  const end = start + timed.latencies[i]!;
  return gcs.some((gc) => gc.start < end && gc.end > start);
}

async function consumersOnServer(transport: NatsTransport): Promise<number> {
  const jsm = await jetstreamManager(transport.connection);
  let count = 0;
  for await (const _ of jsm.consumers.list("SCALE")) count++;
  return count;
}

/** One round with `count` open; on the first of each side, the server's consumers are counted. */
async function round(transport: NatsTransport, count: number, census: Map<number, number>) {
  return await withHost(transport, count, 60, async () => {
    const timed = await timedPublishes(transport, samples);
    if (!census.has(count)) census.set(count, await consumersOnServer(transport));
    return timed;
  });
}

function describe(count: number, timed: TimedPublishes): string {
  const { latencies } = timed;
  const p99 = percentile(latencies, 0.99);
  const slowest = latencies.flatMap((latency, i) => latency >= p99 ? [i] : []);
  const withoutGc = latencies.filter((_, i) => !inGc(timed, i));
  const from = timed.starts[0]!;
  const to = timed.starts.at(-1)! + latencies.at(-1)!;
  const during = gcs.filter((gc) => gc.start >= from && gc.start < to);
  const gcMs = during.reduce((sum, gc) => sum + gc.end - gc.start, 0);
  return `${String(count).padStart(5)} open: p50 ${percentile(latencies, 0.5).toFixed(3)} ms` +
    ` p99 ${p99.toFixed(3)} ms, without GC ${percentile(withoutGc, 0.99).toFixed(3)};` +
    ` slowest 1 % in a GC ${slowest.filter((i) => inGc(timed, i)).length}/${slowest.length},` +
    ` at ${slowest.join(",")}; ${during.length} GCs ${gcMs.toFixed(2)} ms; CPU ${
      timed.cpuMicrosPerPublish.toFixed(1)
    } µs/publish`;
}

const server = await startNatsServer();
const transport = await connectNats({
  servers: server.url,
  stream: "SCALE",
  subjectPrefix: "scale",
});
try {
  const census = new Map<number, number>();
  for (let pair = 0; pair < warmUp + 1; pair++) {
    await round(transport, 1, census);
    await round(transport, listeners, census);
  }
  const many: TimedPublishes[] = [];
  const one: TimedPublishes[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    for (const count of pair % 2 === 0 ? [listeners, 1] : [1, listeners]) {
      const timed = await round(transport, count, census);
      (count === 1 ? one : many).push(timed);
      console.log(describe(count, timed));
    }
  }
  const pooled = (rounds: TimedPublishes[]) => rounds.flatMap((timed) => timed.latencies);
  for (const q of [0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]) {
    const [n, o] = [percentile(pooled(many), q), percentile(pooled(one), q)];
    console.log(`q${q}: N ${n.toFixed(3)} ms, 1 ${o.toFixed(3)} ms, ratio ${(n / o).toFixed(2)}`);
  }
  const interval = bootstrapRatioInterval(
    many.map((timed) => timed.latencies),
    one.map((timed) => timed.latencies),
    0.99,
  );
  const cpu = (rounds: TimedPublishes[]) =>
    rounds.reduce((sum, timed) => sum + timed.cpuMicrosPerPublish, 0) / rounds.length;
  console.log(
    `p99 ratio 95 % bootstrap ${interval.map((ratio) => ratio.toFixed(2)).join("–")};` +
      ` CPU per publish N ${cpu(many).toFixed(1)} µs, 1 ${cpu(one).toFixed(1)} µs, ratio ${
        (cpu(many) / cpu(one)).toFixed(3)
      }; consumers on the server: ${[...census].map(([n, c]) => `${c} with ${n} open`).join(", ")}`,
  );
} finally {
  await transport.close();
  await transport.connection.close();
  await server.stop();
}
process.exit(0);
