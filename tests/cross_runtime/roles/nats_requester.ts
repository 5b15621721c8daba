/**
 * Role: a requester on NATS JetStream (`$NATS_URL`, credentials from the
 * `NATS_*` variables) that sends `$ROLE_COUNT` requests to each request
 * name in `$ROLE_TARGETS` (comma-separated) and reports, per name, how many
 * answers echoed the payload and which runtimes answered, and how
 * `util.inspect` and a template string show its transport (never with a
 * credential). Exits when done.
 *
 * @module
 */

import { inspect } from "node:util";
import { Requester, responseNameFor } from "@bus/integration";
import { connectNats, natsOptionsFromEnv } from "@bus/integration/nats";
import { fail, report, requestEach, requireEnv, runtimeLabel } from "./_role.ts";

const runtime = runtimeLabel();
const targets = requireEnv("ROLE_TARGETS").split(",");
const count = Number(requireEnv("ROLE_COUNT"));
try {
  const transport = await connectNats(await natsOptionsFromEnv());
  const requester = new Requester({
    transport,
    responseNames: targets.map(responseNameFor),
    timeout: 15_000,
    reconnect: { min: 50, max: 500 },
  });
  try {
    const results = await requestEach(requester, targets, count, runtime);
    report({ runtime, results, inspected: inspect(transport), templated: `${transport}` });
  } finally {
    await requester.close();
    await transport.close();
  }
} catch (error) {
  fail(error);
}
