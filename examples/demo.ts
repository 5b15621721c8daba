// deno-lint-ignore-file no-console -- a demo prints its results
/**
 * The end-to-end demo (`deno task demo`): a `Host` runs the echo and
 * script-runner registrations, a `Requester` sends them N requests with a
 * bounded number in flight, and the demo prints the readiness transitions
 * and a summary (answered, response errors, timeouts, p50/p99 latency,
 * requests per second).
 *
 * It starts the reference Events API on loopback, unless
 * `BUS_EVENTS_API_URL` is set: then it uses that Events API, with the token
 * from `BUS_API_TOKEN`, a token file, or the Bus config directory.
 *
 * ```sh
 * deno task demo                      # 2,000 requests, 64 in flight
 * deno task demo --requests 500 --in-flight 16
 * deno task demo --transport nats     # on a nats-server it starts (or NATS_URL's)
 * ```
 *
 * Exit status: 0 when every request got its expected answer (the script
 * runner fails 5% of runs on purpose: the summary's "deliberate errors"), 1
 * otherwise, 2 on bad usage.
 *
 * @module
 */

import process from "node:process";
import {
  clientOptionsFromEnv,
  EventsClient,
  type EventTransport,
  Host,
  ListenerReadiness,
  Requester,
  RequestTimeoutError,
  ResponseError,
} from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import echo from "./echo_worker.ts";
import scriptRunner, { failsFor } from "./script_runner.ts";
import {
  formatNextSteps,
  formatOpening,
  formatSummary,
  formatTransitions,
  formatWorkers,
  recordTransitions,
  TargetResults,
  type Transition,
} from "./demo_report.ts";
import { Progress } from "./demo_progress.ts";
import { closeLogging, configureLogging } from "../src/cli/logging.ts";

const USAGE = "Usage: deno task demo [--requests N] [--in-flight N] [--transport http|nats]";
const REQUEST_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 10_000;

/** What the command line sets. */
interface DemoOptions {
  requests: number;
  inFlight: number;
  /** `http`: the Events API (embedded or `BUS_EVENTS_API_URL`); `nats`: NATS JetStream. */
  transport: "http" | "nats";
}

function parseOptions(args: readonly string[]): DemoOptions | string {
  const options: DemoOptions = { requests: 2_000, inFlight: 64, transport: "http" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") return USAGE;
    const [name, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    if (name === "--transport") {
      const transport = inline ?? args[++i];
      if (transport !== "http" && transport !== "nats") {
        return `Cannot use --transport: current value is ${
          JSON.stringify(transport)
        }, expected http or nats`;
      }
      options.transport = transport;
      continue;
    }
    if (name !== "--requests" && name !== "--in-flight") return `Unknown argument ${arg}\n${USAGE}`;
    const text = inline ?? args[++i];
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      return `Cannot use ${name}: current value is ${
        JSON.stringify(text)
      }, expected an integer >= 1`;
    }
    if (name === "--requests") options.requests = value;
    else options.inFlight = value;
  }
  return options;
}

/** The Events API the demo talks to, and how to let go of it. */
interface Backend {
  client: EventTransport;
  description: string;
  close(): Promise<void>;
}

async function connect(transport: DemoOptions["transport"]): Promise<Backend> {
  if (transport === "nats") {
    const { natsBackend } = await import("./demo_nats.ts");
    const { transport: client, ...rest } = await natsBackend();
    return { client, ...rest };
  }
  if (process.env.BUS_EVENTS_API_URL) {
    const { baseUrl, token } = await clientOptionsFromEnv();
    return {
      client: new EventsClient({ baseUrl, token }),
      description: `the Events API at ${baseUrl}`,
      close: async () => {},
    };
  }
  const api = createEventsApi({ heartbeatMs: 5_000 });
  const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const token = await api.mintToken({ sub: "demo" });
  return {
    client: new EventsClient({ baseUrl: served.url, token }),
    description: `the embedded reference server at ${served.url}`,
    close: () => api.close(),
  };
}

/** One kind of request the demo sends. */
interface Target {
  readonly results: TargetResults;
  readonly requestName: string;
  /** The payload of this target's `k`-th request. */
  payload(k: number): unknown;
  /** Whether `answer` is right for request `k`. */
  check(answer: unknown, k: number): boolean;
  /** The error code request `k` is expected to get, if any. */
  expectedError(k: number): string | undefined;
}

const targets: Target[] = [
  {
    results: new TargetResults("echo"),
    requestName: "example.echo.request",
    payload: (k) => ({ text: `hello ${k}` }),
    check: (answer, k) => (answer as { echo?: { text?: string } })?.echo?.text === `hello ${k}`,
    expectedError: () => undefined,
  },
  {
    results: new TargetResults("script-runner"),
    requestName: "example.script.run.request",
    payload: (k) => ({ run: k }),
    check: (answer, k) => (answer as { run?: number })?.run === k,
    expectedError: (k) => failsFor(k) ? "script_failed" : undefined,
  },
];

async function main(args: readonly string[]): Promise<number> {
  const options = parseOptions(args);
  if (typeof options === "string") {
    (options === USAGE ? console.log : console.error)(options);
    return options === USAGE ? 0 : 2;
  }
  // The demo is an application, so it decides where logs go: the CLI's
  // setup, warnings and worse to stderr (the library never configures logging).
  await configureLogging("text", "warning");

  let backend: Backend;
  try {
    backend = await connect(options.transport);
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  console.log(formatOpening(options.requests, options.inFlight, backend.description));
  console.log();
  const started = performance.now();
  const now = () => performance.now() - started;
  const transitions: Transition[] = [];
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);

  try {
    const host = new Host({
      transport: backend.client,
      registrations: [echo, scriptRunner],
      signal: stop.signal,
      drainTimeout: 5_000,
    });
    for (const name of host.names) {
      recordTransitions(host.readinessOf(name), name, transitions, now);
    }
    recordTransitions(host.readiness, "host", transitions, now);
    const requesterReadiness = new ListenerReadiness();
    recordTransitions(requesterReadiness, "requester", transitions, now);

    const hosting = host.run();
    hosting.catch(() => {}); // awaited below
    const requester = new Requester({
      transport: backend.client,
      responseNames: ["example.echo.response", "example.script.run.response"],
      timeout: REQUEST_TIMEOUT_MS,
      readiness: requesterReadiness,
      signal: stop.signal,
    });
    const readyBy = AbortSignal.timeout(READY_TIMEOUT_MS);
    await Promise.all([host.readiness.waitReady(readyBy), requester.readiness.waitReady(readyBy)]);

    const stderr = process.stderr;
    const progress = new Progress(
      { isTerminal: stderr.isTTY === true, write: (text) => void stderr.write(text) },
      options.requests,
      now,
    );
    const unexpected: string[] = [];
    const sendStarted = now();
    let next = 0;
    const lane = async () => {
      while (next < options.requests && !stop.signal.aborted) {
        const index = next++;
        const target = targets[index % targets.length]!;
        const k = Math.floor(index / targets.length);
        const { results } = target;
        results.sent++;
        const sentAt = performance.now();
        try {
          const answer = await requester.request(target.requestName, target.payload(k));
          if (target.check(answer, k)) results.answered++;
          else {
            results.unexpected++;
            unexpected.push(`${results.name} ${k}: wrong answer ${JSON.stringify(answer)}`);
          }
        } catch (error) {
          if (error instanceof ResponseError && error.code === target.expectedError(k)) {
            results.responseErrors++;
          } else if (error instanceof RequestTimeoutError) {
            results.timeouts++;
          } else {
            results.unexpected++;
            unexpected.push(
              `${results.name} ${k}: ${error instanceof Error ? error.message : error}`,
            );
          }
        }
        results.latencies.push(performance.now() - sentAt);
        progress.tick();
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.inFlight, options.requests) }, lane));
    const elapsed = now() - sendStarted;
    progress.finish();

    await requester.close();
    stop.abort();
    let hostFailure: unknown;
    await hosting.catch((error) => hostFailure = error);

    console.log(formatTransitions(transitions));
    console.log();
    console.log(formatSummary(
      targets.map((t) => t.results),
      elapsed,
      `Summary: ${options.requests} requests, ${options.inFlight} in flight, against ${backend.description}`,
    ));
    console.log();
    console.log(formatWorkers(host.report()));
    console.log();
    console.log(formatNextSteps());
    for (const line of unexpected.slice(0, 10)) console.error(`unexpected: ${line}`);
    if (hostFailure !== undefined) console.error(`host failed: ${hostFailure}`);

    const sent = targets.reduce((sum, t) => sum + t.results.sent, 0);
    const failed = targets.some((t) => t.results.timeouts > 0 || t.results.unexpected > 0);
    return !failed && sent === options.requests && hostFailure === undefined ? 0 : 1;
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    stop.abort();
    await backend.close();
  }
}

const status = await main(process.argv.slice(2));
await closeLogging();
process.exit(status);
