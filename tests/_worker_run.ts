/**
 * Small helpers for tests that run a worker in the background.
 *
 * @module
 */

import { ListenerReadiness, runWorker, type WorkerOptions, WorkerStats } from "../mod.ts";

/**
 * What `await using` a background loop needs: on dispose it aborts
 * `controller` and waits for `running` to settle (its outcome ignored), so
 * the loop is stopped before what was declared above it is disposed, also
 * when the test failed first.
 */
export function stopOnDispose(
  controller: AbortController,
  running: Promise<unknown>,
): AsyncDisposable {
  return {
    [Symbol.asyncDispose]: async () => {
      controller.abort();
      await running.catch(() => {});
    },
  };
}

/**
 * Starts a worker with fast reconnects; `stop()` aborts it and waits for it
 * to drain. Held with `await using`, it is stopped (its outcome ignored) even
 * when the test fails before `stop()`, before what was declared above it is
 * disposed.
 */
export function startWorker(
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "transport" | "handler" | "names">,
) {
  const controller = new AbortController();
  const stats = options.stats ?? new WorkerStats();
  const readiness = options.readiness ?? new ListenerReadiness();
  const done = runWorker({
    reconnect: { min: 10, max: 50 },
    signal: controller.signal,
    stats,
    readiness,
    ...options,
  });
  done.catch(() => {}); // observed through stop()
  return {
    stats,
    readiness,
    stop: async () => {
      controller.abort();
      await done;
    },
    ...stopOnDispose(controller, done),
  };
}

/** A promise the test resolves with `open()`. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}
