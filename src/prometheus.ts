/**
 * A host's `/metrics` in the Prometheus text exposition format (version
 * 0.0.4), built from the counters the library keeps itself — no
 * OpenTelemetry SDK needed. Names follow the OpenTelemetry messaging
 * conventions as Prometheus spells them (`messaging.process.duration` in
 * seconds → `messaging_process_duration_seconds`).
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ProcessMetrics } from "./handling/metrics.ts";
import type { WorkerStats } from "./handling/stats.ts";

/** One registration's numbers, as the host has them. */
export interface RegistrationMetrics {
  /** The registration's name (the `registration` label). */
  readonly registration: string;
  /** Whether it is ready now. */
  readonly ready: boolean;
  /**
   * Times it went from ready to not ready while it and the host kept
   * running: reconnects. Its end (a `run()` that threw or returned, the
   * host's stop) is none.
   */
  readonly reconnects: number;
  /** Its counters. */
  readonly stats: WorkerStats;
  /** Its per-event-name process metrics. */
  readonly process: ProcessMetrics;
}

/** The `Content-Type` of the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value escaped for the text format: backslash, double quote and newline. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs).map(([key, value]) => `${key}="${label(value)}"`).join(",")}}`;
}

/** Prometheus' own number spelling: `+Inf`, `-Inf`, `NaN`, else the shortest form. */
function number(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return Number.isNaN(value) ? "NaN" : String(value);
}

/**
 * Renders every registration's metrics: `messaging_process_duration_seconds`
 * (histogram), `messaging_client_consumed_messages_total` and
 * `bus_process_outcomes_total` by `registration` and `name`; the worker
 * counters (`bus_worker_handled_total`, `…_failed_total`, `…_retried_total`,
 * `…_dead_lettered_total`, `…_dropped_total`, `…_invalid_total`,
 * `bus_worker_in_flight`), `bus_registration_ready` and
 * `bus_listener_reconnects_total` by `registration`.
 */
export function renderPrometheus(registrations: readonly RegistrationMetrics[]): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };

  family(
    "messaging_process_duration_seconds",
    "histogram",
    "Duration of processing one event (every middleware and the handler).",
  );
  for (const { registration, process: processing } of registrations) {
    for (const [name, metrics] of processing.entries()) {
      const base = { registration, name };
      processing.bounds.forEach((bound, i) => {
        out.push(
          `messaging_process_duration_seconds_bucket${labels({ ...base, le: number(bound) })} ${
            metrics.buckets[i]
          }`,
        );
      });
      const count = metrics.buckets[processing.bounds.length]!;
      out.push(
        `messaging_process_duration_seconds_bucket${labels({ ...base, le: "+Inf" })} ${count}`,
        `messaging_process_duration_seconds_sum${labels(base)} ${number(metrics.sum)}`,
        `messaging_process_duration_seconds_count${labels(base)} ${count}`,
      );
    }
  }

  family(
    "messaging_client_consumed_messages_total",
    "counter",
    "Events handed to the handler pipeline (every attempt).",
  );
  for (const { registration, process: processing } of registrations) {
    for (const [name, metrics] of processing.entries()) {
      out.push(
        `messaging_client_consumed_messages_total${
          labels({ registration, name })
        } ${metrics.consumed}`,
      );
    }
  }

  family("bus_process_outcomes_total", "counter", "Attempts by how they were settled.");
  for (const { registration, process: processing } of registrations) {
    for (const [name, metrics] of processing.entries()) {
      for (const [outcome, count] of Object.entries(metrics.outcomes)) {
        out.push(`bus_process_outcomes_total${labels({ registration, name, outcome })} ${count}`);
      }
    }
  }

  const counters: Array<[string, string, (stats: WorkerStats) => number]> = [
    [
      "bus_worker_handled_total",
      "Events handled successfully, idempotent duplicates answered from the store included.",
      (s) => s.handled,
    ],
    ["bus_worker_failed_total", "Events that failed for good.", (s) => s.failed],
    ["bus_worker_retried_total", "Failed attempts scheduled to run again.", (s) => s.retried],
    ["bus_worker_dead_lettered_total", "Events published as dead letters.", (s) => s.deadLettered],
    ["bus_worker_dropped_total", "Events a lossy listener dropped.", (s) => s.dropped],
    ["bus_worker_invalid_total", "Malformed records skipped.", (s) => s.invalid],
  ];
  for (const [name, help, read] of counters) {
    family(name, "counter", help);
    for (const { registration, stats } of registrations) {
      out.push(`${name}${labels({ registration })} ${read(stats)}`);
    }
  }
  family("bus_worker_in_flight", "gauge", "Handlers running now.");
  for (const { registration, stats } of registrations) {
    out.push(`bus_worker_in_flight${labels({ registration })} ${stats.inFlight}`);
  }
  family("bus_registration_ready", "gauge", "1 while the registration is ready.");
  for (const { registration, ready } of registrations) {
    out.push(`bus_registration_ready${labels({ registration })} ${ready ? 1 : 0}`);
  }
  family(
    "bus_listener_reconnects_total",
    "counter",
    "Times a ready registration lost a stream while it kept running.",
  );
  for (const { registration, reconnects } of registrations) {
    out.push(`bus_listener_reconnects_total${labels({ registration })} ${reconnects}`);
  }
  return `${out.join("\n")}\n`;
}
