/**
 * The demo's bookkeeping and text output: per-target outcome counters,
 * latency percentiles, readiness transitions and aligned tables. No I/O.
 *
 * @module
 */

import type { HostReport, ListenerReadiness } from "../mod.ts";

/** Outcomes and latencies of the requests sent to one target. */
export class TargetResults {
  /** Requests sent. */
  sent = 0;
  /** Answered with a payload that checked out. */
  answered = 0;
  /** Answered with the error response this request was meant to get (`ResponseError`). */
  responseErrors = 0;
  /** No response within the timeout. */
  timeouts = 0;
  /** Anything else: wrong payload, publish failure, closed requester. */
  unexpected = 0;
  /** Milliseconds from send to settle, per request. */
  readonly latencies: number[] = [];

  /** Creates the counters of `name`. */
  constructor(readonly name: string) {}

  /** Adds another target's counts (for a total row). */
  add(other: TargetResults): void {
    this.sent += other.sent;
    this.answered += other.answered;
    this.responseErrors += other.responseErrors;
    this.timeouts += other.timeouts;
    this.unexpected += other.unexpected;
    this.latencies.push(...other.latencies);
  }
}

/** The nearest-rank percentile (`p` in 0–1) of `values`, or `NaN` when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1]!;
}

/** One readiness flip, timed from the demo's start. */
export interface Transition {
  /** Milliseconds since start. */
  at: number;
  /** Whose readiness. */
  who: string;
  /** The new state. */
  ready: boolean;
  /** Why it flipped. */
  reason: string;
}

/** Records every flip of `readiness` as `who` into `into`; returns the function that stops. */
export function recordTransitions(
  readiness: ListenerReadiness,
  who: string,
  into: Transition[],
  now: () => number,
): () => void {
  const onChange = (event: { ready: boolean; reason: string }) =>
    into.push({ at: now(), who, ready: event.ready, reason: event.reason });
  readiness.addEventListener("change", onChange);
  return () => readiness.removeEventListener("change", onChange);
}

/** Left-aligns the first column and right-aligns the others. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)
      ).join("  ").trimEnd()
    )
    .join("\n");
}

/** The readiness section. */
export function formatTransitions(transitions: readonly Transition[]): string {
  const rows = transitions.map((t) => [
    `+${Math.round(t.at)} ms`,
    t.who,
    t.ready ? "ready" : "not ready",
    t.reason,
  ]);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) =>
    `  ${row[0]!.padStart(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${
      row[2]!.padEnd(widths[2]!)
    }  ${row[3]}`
  );
  return ["Readiness transitions", ...lines].join("\n");
}

function ms(value: number): string {
  return Number.isNaN(value) ? "-" : value.toFixed(1);
}

/** The demo's first line: what runs, and against what. */
export function formatOpening(requests: number, inFlight: number, backend: string): string {
  return `Demo: a Host runs two registrations (echo, script-runner) and a Requester sends them ` +
    `${requests} requests, ${inFlight} in flight, through ${backend}.`;
}

/** What the summary says about the script runner's failures, which are part of the demo. */
export const DELIBERATE_ERRORS_NOTE =
  "deliberate errors: script-runner fails every 20th run (5%) on purpose with script_failed,\n" +
  "to show error responses; only timeouts and unexpected answers fail the demo.";

/** The summary section: one row per target, a total row, and throughput. */
export function formatSummary(
  targets: readonly TargetResults[],
  elapsedMs: number,
  heading: string,
): string {
  const total = new TargetResults("total");
  for (const target of targets) total.add(target);
  const header = [
    "target",
    "requests",
    "answered",
    "deliberate errors",
    "timeouts",
    "unexpected",
    "p50 ms",
    "p99 ms",
  ];
  const row = (t: TargetResults) => [
    t.name,
    String(t.sent),
    String(t.answered),
    String(t.responseErrors),
    String(t.timeouts),
    String(t.unexpected),
    ms(percentile(t.latencies, 0.5)),
    ms(percentile(t.latencies, 0.99)),
  ];
  const seconds = elapsedMs / 1000;
  return [
    heading,
    table([header, ...targets.map(row), row(total)]),
    DELIBERATE_ERRORS_NOTE,
    `Throughput: ${Math.round(total.sent / seconds)} requests/s (${total.sent} in ${
      seconds.toFixed(2)
    } s)`,
  ].join("\n");
}

/** The workers section, from the host's health report. */
export function formatWorkers(report: HostReport): string {
  return [
    `Workers (host ${report.status})`,
    table([
      ["registration", "state", "handled", "failed", "in flight"],
      ...report.registrations.map((r) => [
        r.name,
        r.state,
        String(r.handled),
        String(r.failed),
        String(r.inFlight),
      ]),
    ]),
  ].join("\n");
}

/** Where a reader goes after the demo. */
export function formatNextSteps(): string {
  const rows = [
    ["examples/echo_worker.ts, script_runner.ts", "the two registrations this demo hosted"],
    ["examples/standalone_worker.ts", "one worker as a whole process"],
    ["examples/request_reply.ts", "request, error response and gather"],
    [
      "deno task cli host examples/echo_worker.ts",
      "host a registration (Node: npx bus-integration host)",
    ],
    ["README.md", '"Write a worker", "Request/reply", "Host many workers in one process"'],
  ];
  const width = Math.max(...rows.map(([where]) => where!.length));
  return ["Next:", ...rows.map(([where, what]) => `  ${where!.padEnd(width)}  ${what}`)].join("\n");
}
