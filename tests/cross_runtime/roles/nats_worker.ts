/**
 * Role: a unicast echo worker on NATS JetStream (`$NATS_URL`, credentials
 * from the `NATS_*` variables) on `$ROLE_REQUEST_NAME`, answering
 * `{ echo: payload, runtime }`. Reports `{ready}` once its consumer is
 * open, and `{stopped, handled}` after a SIGTERM drain; the process must
 * then end on its own (nothing the transport opened may keep it alive).
 *
 * @module
 */

import { ListenerReadiness, runWorker } from "@bus/integration";
import { connectNats, natsOptionsFromEnv } from "@bus/integration/nats";
import { fail, report, requireEnv, runtimeLabel, stopSignal } from "./_role.ts";

const runtime = runtimeLabel();
const name = requireEnv("ROLE_REQUEST_NAME");
const signal = stopSignal();
const readiness = new ListenerReadiness();
let handled = 0;
try {
  const transport = await connectNats(await natsOptionsFromEnv());
  const running = runWorker({
    transport,
    names: [name],
    delivery: "unicast",
    group: `echo-${name}`,
    concurrency: 8,
    reconnect: { min: 50, max: 500 },
    readiness,
    signal,
    handler: async (event, publisher) => {
      handled++;
      await publisher.reply({ echo: event.payload, runtime });
    },
  });
  await Promise.race([readiness.waitReady(signal), running]);
  report({ ready: true, runtime });
  await running;
  await transport.close();
  report({ stopped: true, handled });
} catch (error) {
  fail(error);
}
