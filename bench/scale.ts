/**
 * What a host with many listeners costs its process: a `Host` with N
 * registrations (default 1,000), each listening to one event name on one
 * shared transport, against a server in another process — the reference
 * Events API (`bench/scale_server.ts`, always on Deno) or, with
 * `--transport nats`, a `nats-server`.
 *
 * Reports, for the client process alone:
 *
 * - RSS and heap per listener: after all N are open, against a baseline
 *   taken before opening them (each after a full GC where the runtime
 *   allows one: `--expose-gc` on Deno and Node, always on Bun; on V8 one
 *   that hands back the young generation's empty pages, or on Node 20 a
 *   wait until V8's memory reducer did: see `scale_probe.ts` `memory()`),
 *   and the
 *   same for the floor in a fresh process of the same runtime
 *   (`bench/scale_floor.ts`): N bare `fetch` streams, or N bare nats.js
 *   ordered consumers;
 * - how long the host took to become ready with all N open;
 * - publish latency p50/p99 with N open against the same with 1 open:
 *   after `--warm-up-rounds` pairs of rounds that are not counted,
 *   `--rounds` pairs of rounds (N then 1, 1 then N, …), each of
 *   `--samples` publishes after a full GC and an untimed warm-up; the
 *   ratios pool every round, with a 95 % bootstrap interval of the p99
 *   ratio (resampling whole pairs of rounds) and each pair's own p99
 *   ratio to show the spread; and the client process's CPU time per
 *   publish with N open against 1 open, which a busy machine's
 *   scheduling delays but does not change;
 * - CPU time per second while idle with N open, in % of one core, and the
 *   same for the floor's N bare listeners;
 * - heap per pending `requester.request()` nobody answers;
 * - the server's own resident set per listener (from `ps`).
 *
 * Its last line is one JSON object: `runtime`, `transport`, `listeners`,
 * `rssKiBPerListener`, `heapKiBPerListener`, `openSeconds`,
 * `publishP99Ratio`, `idleCpuPercent`, then `publishP50Ratio`,
 * `floorRssKiBPerListener`, `floorHeapKiBPerListener`, `floorIdleCpuPercent`,
 * `pendingHeapBytesPerRequest`, `serverRssKiBPerListener`,
 * `publishP99RatioInterval` (`[low, high]`), `publishP99RatioRounds` (one
 * ratio per pair), `publishSamples` (per side) and `publishCpuRatio`. A host that
 * is not ready within `--open-timeout` seconds fails the run (exit 1),
 * naming the registrations still waiting and why; a bad flag exits 2.
 *
 * Runs on Deno (`deno task bench:scale`), and on Node and Bun as one
 * bundle (`bash bench/run_scale.sh` builds it and runs every runtime).
 *
 * Usage: `<runtime> scale.{ts,js} [--listeners N] [--transport http|nats]
 * [--samples N] [--rounds N] [--warm-up-rounds N] [--idle-seconds S] [--pending N] [--open-timeout S]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on stdout

import { type ChildProcess, execFile, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
// The package's own name, so the npm build can compile this file for Node and Bun.
import { EventsClient, type EventTransport } from "@bus/integration";
import { connectNats } from "@bus/integration/nats";
import { type NatsServer, startNatsServer } from "../tests/_nats_server.ts";
import {
  bootstrapRatioInterval,
  canCollect,
  idleCpuPercent,
  type Memory,
  memory,
  percentile,
  residentBytesOf,
} from "./scale_probe.ts";
import { parseScaleArgs, type ScaleSettings, UsageError } from "./scale_args.ts";
import { type TimedPublishes, timedPublishes, withHost } from "./scale_rounds.ts";

const versions = process.versions as Record<string, string | undefined>;
const runtime = versions.deno
  ? "deno"
  : versions.bun
  ? "bun"
  : `node${versions.node?.split(".")[0]}`;

/** A server in another process and a transport connected to it. */
interface Target {
  transport: EventTransport;
  /** The Events API's site root, or the NATS server's URL. */
  url: string;
  serverPid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `scale_server.ts` on Deno from source, whatever runs the client,
 * so that every runtime's figures are taken against the same server; resolves
 * with the URL it prints.
 */
function startEventsApiProcess(): Promise<{ child: ChildProcess; url: string }> {
  // From bench/ and from the bundle in .bench-out/ alike.
  const script = fileURLToPath(new URL("../bench/scale_server.ts", import.meta.url));
  const command = "deno";
  const args = ["run", "--allow-net=127.0.0.1", "--allow-env", script];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("Cannot start the reference server: no URL within 30 s"));
    }, 30_000);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => {
      output += text;
      const line = output.split("\n").find((candidate) => candidate.startsWith("http"));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve({ child, url: line.trim() });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Cannot start the reference server: it exited with status ${code}`));
    });
  });
}

async function connect(settings: ScaleSettings): Promise<Target> {
  if (settings.transport === "http") {
    const { child, url } = await startEventsApiProcess();
    return {
      transport: new EventsClient({ baseUrl: url }),
      url,
      serverPid: child.pid,
      stop: async () => {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      },
    };
  }
  let server: NatsServer | undefined;
  const url = process.env.NATS_URL ?? (server = await startNatsServer()).url;
  const transport = await connectNats({ servers: url, stream: "SCALE", subjectPrefix: "scale" });
  return {
    transport,
    url,
    serverPid: server?.pid,
    stop: async () => {
      await transport.close();
      await transport.connection.close();
      await server?.[Symbol.asyncDispose]();
    },
  };
}

const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Runs `bench/<script>` (beside this file, as `.ts` or as the bundle) in a
 * fresh process of this runtime with `args`; resolves with the JSON object
 * its last line prints.
 */
function inFreshProcess<T>(script: string, args: string[]): Promise<T> {
  const here = fileURLToPath(import.meta.url);
  const path = here.replace(/scale\.(ts|m?js)$/, `${script}.$1`);
  const [command, flags] = versions.deno
    // All: Deno lets nothing less read /proc/self/status (see `residentBytes()`).
    ? ["deno", ["run", "--allow-all", "--v8-flags=--expose-gc", path]]
    : [process.execPath, versions.bun ? [path] : ["--expose-gc", path]];
  return new Promise((resolve, reject) => {
    execFile(command, [...flags, ...args], (error, stdout) => {
      if (error) reject(new Error(`Cannot run ${script}`, { cause: error }));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!));
    });
  });
}

async function main(settings: ScaleSettings): Promise<void> {
  const { listeners, samples, openTimeout } = settings;
  const target = await connect(settings);
  const { transport } = target;
  try {
    if (!canCollect) {
      console.log(`${runtime}: no forced GC (run with --expose-gc): figures noisier`);
    }
    /** One round with `count` listeners open, its publishes timed. */
    const phase = (count: number) =>
      withHost(transport, count, openTimeout, () => timedPublishes(transport, samples));
    // A round not counted: the first publishes of a process run cold.
    await phase(1);
    const before = await memory();
    const serverBefore = residentBytesOf(target.serverPid);
    // The memory and idle readings, with N open for the first time; its
    // publishes (before the idle time, as a host's would be) are not counted.
    const readings = await withHost(transport, listeners, openTimeout, async (_, open) => {
      const after = await memory();
      const serverAfter = residentBytesOf(target.serverPid);
      await timedPublishes(transport, samples);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const idle = await idleCpuPercent(settings.idleSeconds);
      return { after, serverAfter, open, idle };
    });
    // Pairs not counted, so that both sides are timed with the code of
    // both warm: a runtime keeps compiling hot paths for several rounds
    // (Bun's first N-open rounds had a p99 of about 1 ms against 0.2–0.3
    // ms once warm), and a host's listeners were not opened moments ago.
    for (let pair = 0; pair < settings.warmUpRounds; pair++) {
      await phase(listeners);
      await phase(1);
    }
    // One round of each side per pair, the i-th of each side from the same
    // pair, each pair in the opposite order of the one before (N, 1, 1, N,
    // N, 1, …), so that a slow spell on a shared machine or a drift over
    // the run falls on both sides of the ratio.
    const oneRounds: TimedPublishes[] = [];
    const manyRounds: TimedPublishes[] = [];
    for (let pair = 0; pair < settings.rounds; pair++) {
      if (pair % 2 === 0) {
        manyRounds.push(await phase(listeners));
        oneRounds.push(await phase(1));
      } else {
        oneRounds.push(await phase(1));
        manyRounds.push(await phase(listeners));
      }
    }
    const one = oneRounds.flatMap((timed) => timed.latencies);
    const many = manyRounds.flatMap((timed) => timed.latencies);
    // Each in a process of its own: memory a runtime freed stays in its
    // allocator, and read here the sockets the pairs left were still being
    // let go during the pending reading (124–159 B a request on Node 22–26
    // over HTTP instead of about 1,000).
    const { bytes: pending } = await inFreshProcess<{ bytes: number }>("scale_pending", [
      settings.transport,
      target.url,
      String(settings.pending),
    ]);
    const floor = await inFreshProcess<Memory & { idle: number }>("scale_floor", [
      target.url,
      String(listeners),
      String(settings.idleSeconds),
      // As many as the library's idle reading follows.
      String(samples),
    ]);
    const p = (values: number[], q: number) => percentile(values, q);
    const p99Ratio = round(p(many, 0.99) / p(one, 0.99), 2);
    const latenciesOf = (rounds: TimedPublishes[]) => rounds.map((timed) => timed.latencies);
    const interval = bootstrapRatioInterval(latenciesOf(manyRounds), latenciesOf(oneRounds), 0.99)
      .map((ratio) => round(ratio, 2));
    const perRound = manyRounds.map((many, i) =>
      round(p(many.latencies, 0.99) / p(oneRounds[i]!.latencies, 0.99), 2)
    );
    // Every round has the same number of publishes: the ratio of the sums is that of the means.
    const cpuOf = (rounds: TimedPublishes[]) =>
      rounds.reduce((sum, timed) => sum + timed.cpuMicrosPerPublish, 0);
    const cpuRatio = round(cpuOf(manyRounds) / cpuOf(oneRounds), 3);
    console.log(
      `${runtime} ${settings.transport}: publish with 1 open p50 ${p(one, 0.5).toFixed(2)} ms` +
        ` p99 ${p(one, 0.99).toFixed(2)} ms; with ${listeners} open p50 ${
          p(many, 0.5).toFixed(2)
        } ms p99 ${p(many, 0.99).toFixed(2)} ms (${settings.rounds} × ${samples} each);` +
        ` p99 ratio ${p99Ratio}, 95 % bootstrap ${interval.join("–")}, per round ${
          perRound.join(" ")
        }; client CPU per publish N/1 ${cpuRatio}`,
    );
    console.log(JSON.stringify({
      runtime,
      transport: settings.transport,
      listeners,
      rssKiBPerListener: kib((readings.after.rss - before.rss) / listeners),
      heapKiBPerListener: kib((readings.after.heap - before.heap) / listeners),
      openSeconds: round(readings.open, 3),
      publishP99Ratio: p99Ratio,
      idleCpuPercent: round(readings.idle, 2),
      publishP50Ratio: round(p(many, 0.5) / p(one, 0.5), 2),
      floorRssKiBPerListener: kib(floor.rss),
      floorHeapKiBPerListener: kib(floor.heap),
      floorIdleCpuPercent: round(floor.idle, 2),
      pendingHeapBytesPerRequest: Math.round(pending),
      serverRssKiBPerListener: kib((readings.serverAfter - serverBefore) / listeners),
      publishP99RatioInterval: interval,
      publishP99RatioRounds: perRound,
      publishSamples: many.length,
      publishCpuRatio: cpuRatio,
    }));
  } finally {
    await transport.close();
    await target.stop();
  }
}

try {
  await main(parseScaleArgs(process.argv.slice(2)));
  process.exit(0);
} catch (error) {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(error instanceof UsageError ? 2 : 1);
}
