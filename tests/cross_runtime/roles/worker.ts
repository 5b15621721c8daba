/**
 * Role: an echo worker on `$ROLE_REQUEST_NAME` (unicast) that answers
 * `{ echo: payload, runtime }`. Reports `{ready}` once its stream is open,
 * `{readiness, reason}` on every later flip, and `{stopped, handled}` after
 * a SIGTERM drain; the process must then end
 * on its own (a handle the library left open would keep it alive).
 *
 * @module
 */

import { EventsClient, ListenerReadiness, runWorker } from "@bus/integration";
import { fail, report, requireEnv, runtimeLabel, stopSignal } from "./_role.ts";

const runtime = runtimeLabel();
const name = requireEnv("ROLE_REQUEST_NAME");
const signal = stopSignal();
const readiness = new ListenerReadiness();
let handled = 0;
const running = runWorker({
  transport: new EventsClient({
    baseUrl: requireEnv("BUS_EVENTS_API_URL"),
    token: requireEnv("BUS_API_TOKEN"),
  }),
  names: [name],
  delivery: "unicast",
  group: `echo-${name}`,
  consumer: "only",
  concurrency: 8,
  reconnect: { min: 50, max: 500 },
  readiness,
  signal,
  handler: async (event, publisher) => {
    handled++;
    await publisher.reply({ echo: event.payload, runtime });
  },
});
try {
  await Promise.race([readiness.waitReady(signal), running]);
  report({ ready: true, runtime });
  readiness.addEventListener("change", (event) => {
    report({ readiness: event.ready, reason: event.reason });
  });
  await running;
  report({ stopped: true, handled });
} catch (error) {
  fail(error);
}
