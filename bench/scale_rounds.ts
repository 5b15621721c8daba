/**
 * The rounds `bench/scale.ts` and `bench/scale_outliers.ts` time: a `Host`
 * with `count` do-nothing registrations open on one transport, and
 * publishes one after another with their latencies, start times and the
 * process's CPU time per publish.
 *
 * @module
 */

import process from "node:process";
import { defineWorker, type EventTransport, Host } from "@bus/integration";
import { collect } from "./scale_probe.ts";

/** A host whose `count` registrations each listen to `scale.l<i>` and do nothing. */
export function hostOf(transport: EventTransport, count: number, signal: AbortSignal): Host {
  const registrations = Array.from(
    { length: count },
    (_, i) => defineWorker({ name: `l${i}`, names: [`scale.l${i}`], handler: () => {} }),
  );
  return new Host({ transport, registrations, signal });
}

/** Runs a host until `use` returns; rejects when it is not ready within `timeoutSeconds`. */
export async function withHost<T>(
  transport: EventTransport,
  count: number,
  timeoutSeconds: number,
  use: (host: Host, openSeconds: number) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const host = hostOf(transport, count, stop.signal);
  const started = performance.now();
  const running = host.run();
  const late = AbortSignal.timeout(timeoutSeconds * 1000);
  try {
    await Promise.race([host.readiness.waitReady(late), running]);
    if (!host.readiness.ready) throw new Error("Cannot open the listeners: the host stopped");
  } catch (error) {
    const waiting = host.report().registrations.filter((entry) => entry.state !== "ready");
    stop.abort();
    await running.catch(() => {});
    const reasons = new Map<string, number>();
    for (const entry of waiting) {
      // One line per kind of failure: the stream names and URLs differ, the failures do not.
      const reason = (entry.lastError ?? entry.reason).replace(/https?:\/\/\S+/g, "<url>");
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    throw new Error(
      `Cannot open ${count} listeners within ${timeoutSeconds} s: ${waiting.length} not ready (${
        [...reasons].map(([reason, n]) => `${n}× ${reason}`).join("; ")
      })`,
      { cause: error },
    );
  }
  const openSeconds = (performance.now() - started) / 1000;
  try {
    return await use(host, openSeconds);
  } finally {
    stop.abort();
    await running;
  }
}

/** Publishes of each round that warm it up and are not timed. */
export const WARM_UP = 100;

/** One round of timed publishes. */
export interface TimedPublishes {
  /** Each publish's latency in ms, in order. */
  latencies: number[];
  /** Each publish's start, `performance.now()`. */
  starts: number[];
  /**
   * The process's CPU time (user plus system, every thread) over the timed
   * publishes, in µs per publish: what the client did for each, which the
   * scheduling of a shared machine delays but does not add to.
   */
  cpuMicrosPerPublish: number;
}

/**
 * `samples` publishes to `scale.l0` one after another, timed: after a full
 * GC (where the runtime allows one), so that no round inherits the garbage
 * of the one before, and a warm-up that is not timed.
 */
export async function timedPublishes(
  transport: EventTransport,
  samples: number,
): Promise<TimedPublishes> {
  collect();
  for (let i = 0; i < WARM_UP; i++) await transport.publish({ name: "scale.l0", payload: i });
  const latencies: number[] = [];
  const starts: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await transport.publish({ name: "scale.l0", payload: i });
    latencies.push(performance.now() - started);
    starts.push(started);
  }
  const used = process.cpuUsage(cpu);
  return { latencies, starts, cpuMicrosPerPublish: (used.user + used.system) / samples };
}
