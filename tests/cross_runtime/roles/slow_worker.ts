/**
 * A worker module for the host scenario's drain check: announces each
 * `cross.slow.request` on `cross.slow.started`, works `payload.ms`
 * milliseconds without looking at its signal, then replies with the
 * runtime's name. A host that drains on SIGTERM must still send that reply.
 *
 * @module
 */

import { defineWorker, delay } from "@bus/integration";
import { runtimeLabel } from "./_role.ts";

/** The registration the host command loads. */
export default defineWorker({
  name: "slow",
  names: ["cross.slow.request"],
  delivery: "unicast",
  concurrency: 4,
  handler: async (event, publisher) => {
    await publisher.publish("cross.slow.started", event.payload, {
      ...(event.correlationId ? { correlationId: event.correlationId } : {}),
    });
    const { ms } = event.payload as { ms: number };
    await delay(ms);
    await publisher.reply({ slept: ms, runtime: runtimeLabel() });
  },
});
