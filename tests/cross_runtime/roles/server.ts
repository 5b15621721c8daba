/**
 * Role: the reference Events API on loopback, on `$ROLE_PORT` (default: a
 * free port) with `$ROLE_SECRET` as its token secret (default: a random one;
 * give the same one to a restarted server so that tokens stay valid) and a
 * keepalive every `$ROLE_HEARTBEAT_MS` (default 1000; 0 sends none).
 * Reports `{ready, url, port, token}`, then serves until SIGTERM, closes,
 * reports `{stopped}` and ends on its own.
 *
 * @module
 */

import { createEventsApi } from "@bus/integration/testing";
import process from "node:process";
import { fail, report, runtimeLabel, stopSignal } from "./_role.ts";

const signal = stopSignal();
try {
  const secret = process.env.ROLE_SECRET;
  const api = createEventsApi({
    heartbeatMs: Number(process.env.ROLE_HEARTBEAT_MS ?? 1_000),
    ...(secret ? { auth: { secret } } : {}),
  });
  const served = await api.serve({
    hostname: "127.0.0.1",
    port: Number(process.env.ROLE_PORT ?? 0),
  });
  const token = await api.mintToken({ sub: "cross-runtime" });
  report({ ready: true, runtime: runtimeLabel(), url: served.url, port: served.port, token });
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  await api.close();
  report({ stopped: true });
} catch (error) {
  fail(error);
}
