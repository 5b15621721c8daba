/**
 * A script runner that simulates work: each `example.script.run.request`
 * with payload `{ run: n }` takes 1–20 ms, then is answered on
 * `example.script.run.response` with `{ run: n, exitCode: 0 }` — except
 * that every 20th run (`n % 20 === 19`, 5%) fails with the error response
 * `script_failed`. Both the time and the failures follow from `n`, so runs
 * are repeatable.
 *
 * ```sh
 * deno run -A cli.ts host examples/script_runner.ts
 * ```
 *
 * @module
 */

import { defineWorker, delay } from "../mod.ts";

/** Simulated milliseconds of work for run `n`: 1–20, spread by a multiplicative hash. */
export function workFor(n: number): number {
  return 1 + (Math.imul(n, 2654435761) >>> 0) % 20;
}

/** Whether run `n` fails (every 20th). */
export function failsFor(n: number): boolean {
  return n % 20 === 19;
}

/** The script runner registration. */
export default defineWorker({
  name: "script-runner",
  names: ["example.script.run.request"],
  delivery: "unicast",
  concurrency: 64,
  handler: async (event, publisher) => {
    const n = Number((event.payload as { run?: unknown } | undefined)?.run ?? 0);
    // The publisher's signal aborts when the host's drain timeout runs out.
    await delay(workFor(n), publisher.signal);
    if (failsFor(n)) {
      await publisher.replyError("script_failed", `script run ${n} exited with status 1`);
      return;
    }
    await publisher.reply({ run: n, exitCode: 0 });
  },
});
