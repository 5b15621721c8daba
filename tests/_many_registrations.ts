/**
 * A child for tests/host_footprint_test.ts, bundled and run under Node
 * (which, unlike Deno, prints a MaxListenersExceededWarning for an
 * `AbortSignal` with more than 10 listeners): `many <N>` runs a `Host` of N
 * idle registrations until ready and stops it; `control` adds 11 listeners
 * to one plain signal, to show this Node does warn. Warnings go to stderr.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a child process reports on stdout

import process from "node:process";
import { defineWorker, type EventEnvelope, type EventTransport, Host } from "../mod.ts";

/** Subscriptions that wait for their signal, with one abort listener each, as real ones do. */
const idle: EventTransport = {
  canRefreshCredentials: false,
  publish: (event) => Promise.resolve({ id: undefined, name: event.name }),
  open: ({ signal }) =>
    Promise.resolve({
      lastEventId: undefined,
      reconnectHint: undefined,
      redelivers: false,
      attempt: () => 1,
      settle: () => Promise.resolve(),
      working: () => Promise.resolve(),
      next: () =>
        new Promise<IteratorResult<EventEnvelope, undefined>>((_, reject) => {
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
      [Symbol.asyncIterator]() {
        return this;
      },
      close: () => Promise.resolve(),
    }),
  close: () => Promise.resolve(),
};

const [mode, count] = process.argv.slice(2);
if (mode === "control") {
  const signal = new AbortController().signal;
  for (let i = 0; i < 11; i++) signal.addEventListener("abort", () => {});
} else {
  const stop = new AbortController();
  const registrations = Array.from(
    { length: Number(count) },
    (_, i) => defineWorker({ name: `r${i}`, names: [`tests.many.${i}`], handler: () => {} }),
  );
  const host = new Host({ transport: idle, registrations, signal: stop.signal });
  const running = host.run();
  await host.readiness.waitReady();
  console.log(`ready ${host.names.length}`);
  stop.abort();
  await running;
  console.log(`stopped ${host.status}`);
}
// Warnings are printed on the next turns.
await new Promise((resolve) => setTimeout(resolve, 100));
