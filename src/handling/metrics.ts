/**
 * Per-event-name process metrics of one worker, kept by the library itself
 * so a host can serve Prometheus `/metrics` with no OpenTelemetry SDK: how
 * many events of each name were consumed, how each attempt ended, and a
 * histogram of how long the pipeline took.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { DURATION_BUCKETS } from "../tracing/conventions.ts";
import type { OutcomeStep } from "./outcome_step.ts";

/** What {@linkcode ProcessMetrics} keeps for one event name. */
export interface NameMetrics {
  /** Attempts handed to the pipeline. */
  consumed: number;
  /** Attempts by how they were settled: `done`, `retry` or `dead`. */
  outcomes: { done: number; retry: number; dead: number };
  /** Cumulative bucket counts for {@linkcode DURATION_BUCKETS} (seconds), then `+Inf`. */
  buckets: number[];
  /** Sum of every duration, in seconds. */
  sum: number;
}

/** What a {@linkcode ProcessMetrics} that saw no event lists. */
const NO_NAMES: ReadonlyMap<string, NameMetrics> = new Map();

/** Process metrics of one worker, by event name. */
export class ProcessMetrics {
  /** The upper bounds of the duration histogram, in seconds. */
  readonly bounds: readonly number[] = DURATION_BUCKETS;
  // Made at the first event: a host keeps one ProcessMetrics per registration, most idle.
  #byName: Map<string, NameMetrics> | undefined;
  #lastName: string | undefined;
  #last: NameMetrics | undefined;

  /** Every event name seen so far, with its metrics. */
  entries(): IterableIterator<[string, Readonly<NameMetrics>]> {
    return (this.#byName ?? NO_NAMES).entries();
  }

  /** Counts one consumed attempt of `name`. */
  consumed(name: string): void {
    this.#of(name).consumed++;
  }

  /** Records how one attempt of `name` ended and how long it took. */
  observe(name: string, outcome: "done" | "retry" | "dead", seconds: number): void {
    const metrics = this.#of(name);
    metrics.outcomes[outcome]++;
    metrics.sum += seconds;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) metrics.buckets[i]!++;
    }
    metrics.buckets[bounds.length]!++;
  }

  #of(name: string): NameMetrics {
    // A worker mostly sees one name after another: its last one is found by
    // comparing strings, not by hashing the event's fresh name.
    if (name === this.#lastName) return this.#last!;
    const byName = this.#byName ??= new Map();
    let metrics = byName.get(name);
    if (metrics === undefined) {
      metrics = {
        consumed: 0,
        outcomes: { done: 0, retry: 0, dead: 0 },
        buckets: new Array(this.bounds.length + 1).fill(0),
        sum: 0,
      };
      byName.set(name, metrics);
    }
    this.#lastName = name;
    this.#last = metrics;
    return metrics;
  }
}

/**
 * The step that records every attempt into `metrics`: consumed when it
 * starts; its outcome (the settlement's type, else `done` or, on failure,
 * `dead`) and the time the rest of the pipeline took when it ends, in
 * whole milliseconds. A worker giving up a retry (no attempt of its own)
 * records its outcome with a time of 0, and no consumed event.
 */
export function measureProcessing(metrics: ProcessMetrics): OutcomeStep {
  // On `Date.now()` (see `OutcomeStep.timed`); never below 0 if the clock is set back.
  const secondsSince = (startedAt: number | undefined) =>
    startedAt === undefined ? 0 : Math.max(0, Date.now() - startedAt) / 1000;
  return {
    timed: true,
    started(event, context) {
      // A worker giving up a retry at its stop (the settlement already set)
      // runs this without an attempt: nothing was consumed again.
      if (context.settlement === undefined) metrics.consumed(event.name);
      return undefined;
    },
    succeeded(event, context, startedAt) {
      metrics.observe(event.name, context.settlement?.type ?? "done", secondsSince(startedAt));
    },
    failed(_error, event, context, startedAt) {
      metrics.observe(event.name, context.settlement?.type ?? "dead", secondsSince(startedAt));
    },
  };
}
