/**
 * What tracing costs a worker when no OpenTelemetry SDK is installed: the
 * same 20,000 retained events (replay) through runWorker() at concurrency
 * 16 over loopback, with the default `process` span and with
 * `tracing: false`. The cases run interleaved, round after round, so a
 * busy machine slows them alike; each round gives the ratio of each case
 * to the `tracing: false` run of that round, and the baseline is repeated
 * in every round (A/A) so the noise is measured in the same run as the
 * difference. Without an SDK the traced case should differ by less than it.
 *
 * Run: deno run -A bench/tracing_overhead.ts [rounds]
 */
// deno-lint-ignore-file no-console -- a benchmark prints its figures
import { trace } from "@opentelemetry/api";
import { EventsClient, runWorker, type WorkerOptions } from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { telemetryLive } from "../src/tracing/live.ts";
import { traceProcessing } from "../src/handling/tracing.ts";

const EVENTS = 20_000;
const NAME = "bench.traced";
const ROUNDS = Number(Deno.args[0] ?? 20);
const WARMUP = 3;

const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: EVENTS });
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url });
for (let i = 0; i < EVENTS; i += 500) {
  await Promise.all(Array.from({ length: 500 }, (_, j) =>
    client.publish({
      name: NAME,
      correlationId: crypto.randomUUID(),
      source: "bench",
      payload: { host: "runner-7", script: "uptime", n: i + j },
    })));
}

// Without an SDK the global tracer provider is the API's no-op proxy.
if (trace.getTracerProvider().getTracer("probe").startSpan("probe").isRecording()) {
  throw new Error("An OpenTelemetry SDK is installed: this benchmark measures the no-SDK case");
}

/** Milliseconds to handle every event once. */
async function worker(extra: Partial<WorkerOptions>): Promise<number> {
  const controller = new AbortController();
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  const started = performance.now();
  const running = runWorker({
    transport: client,
    names: [NAME],
    replay: true,
    concurrency: 16,
    idempotency: false,
    ...extra,
    signal: controller.signal,
    handler: () => {
      if (++handled === EVENTS) done();
    },
  });
  await all;
  const elapsed = performance.now() - started;
  controller.abort();
  await running;
  return elapsed;
}

const CASES = {
  "tracing: false": { tracing: false },
  "tracing: false again (A/A: the noise)": { tracing: false },
  "tracing on, no SDK": {},
} as const satisfies Record<string, Partial<WorkerOptions>>;
type Case = keyof typeof CASES;

const ratios = new Map<Case, number[]>(Object.keys(CASES).map((name) => [name as Case, []]));
const times = new Map<Case, number[]>(Object.keys(CASES).map((name) => [name as Case, []]));
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  const measured = new Map<Case, number>();
  // Rotate the order, so no case always runs first after the previous round.
  const order = Object.keys(CASES) as Case[];
  for (let k = 0; k < round % order.length; k++) order.push(order.shift()!);
  for (const name of order) measured.set(name, await worker(CASES[name]));
  if (round < WARMUP) continue;
  const base = measured.get("tracing: false")!;
  for (const [name, ms] of measured) {
    ratios.get(name)!.push(ms / base);
    times.get(name)!.push(ms);
  }
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;
}

console.log(`${ROUNDS} interleaved rounds of ${EVENTS} events, Deno ${Deno.version.deno}`);
console.log("case | median ms | ratio to tracing: false, median [p25, p75]");
for (const name of Object.keys(CASES) as Case[]) {
  const r = ratios.get(name)!;
  console.log(
    `${name} | ${quantile(times.get(name)!, 0.5).toFixed(1)} | ${quantile(r, 0.5).toFixed(3)} [${
      quantile(r, 0.25).toFixed(3)
    }, ${quantile(r, 0.75).toFixed(3)}]`,
  );
}

// The same question at the level of one event through the pipeline alone,
// where the load of the machine matters less: no middleware; no middleware
// after asking whether an SDK is registered (the worker asks every
// TELEMETRY_RECHECK events); and the process span run without an SDK.
const event = { name: NAME, id: "1", correlationId: "c1" };
const context = { attempt: 1, settlement: undefined } as unknown as HandlerContext;
const tracing = traceProcessing({ system: "bus", group: "g", consumer: "c" });
const plain = compose([], () => {});
const traced = compose([tracing], () => {});
const pipelines = {
  "no middleware": plain,
  "telemetryLive() asked, then no middleware": (
    e: typeof event,
    c: HandlerContext,
  ) => (telemetryLive() ? traced : plain)(e, c),
  "process span, no SDK": traced,
};
const PER_ROUND = 20_000;
const nanos = new Map<string, number[]>(Object.keys(pipelines).map((name) => [name, []]));
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (const [name, pipeline] of Object.entries(pipelines)) {
    const started = performance.now();
    for (let i = 0; i < PER_ROUND; i++) await pipeline(event, context);
    if (round >= WARMUP) nanos.get(name)!.push((performance.now() - started) * 1e6 / PER_ROUND);
  }
}
console.log("\npipeline alone | ns per event, median [p25, p75]");
for (const [name, values] of nanos) {
  console.log(
    `${name} | ${quantile(values, 0.5).toFixed(0)} [${quantile(values, 0.25).toFixed(0)}, ${
      quantile(values, 0.75).toFixed(0)
    }]`,
  );
}
await api.close();
