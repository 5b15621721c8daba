/**
 * Role: the reference Events API on a free loopback port. Reports
 * `{ready, url, port, token}`, then serves until SIGTERM, closes, reports
 * `{stopped}` and ends on its own.
 *
 * @module
 */

import { createEventsApi } from "@bus/integration/testing";
import { fail, report, runtimeLabel, stopSignal } from "./_role.ts";

const signal = stopSignal();
try {
  const api = createEventsApi({ heartbeatMs: 1_000 });
  const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const token = await api.mintToken({ sub: "cross-runtime" });
  report({ ready: true, runtime: runtimeLabel(), url: served.url, port: served.port, token });
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  await api.close();
  report({ stopped: true });
} catch (error) {
  fail(error);
}
