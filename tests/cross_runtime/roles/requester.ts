/**
 * Role: a requester that sends `$ROLE_COUNT` requests to each request name in
 * `$ROLE_TARGETS` (comma-separated) and reports, per name, how many answers
 * echoed the payload and which runtimes answered, and how `util.inspect` and
 * `console.log` show its client (never with the token). Exits when done.
 *
 * @module
 */

import { inspect } from "node:util";
import { EventsClient, Requester, responseNameFor } from "@bus/integration";
import { fail, report, requestEach, requireEnv, runtimeLabel } from "./_role.ts";

const runtime = runtimeLabel();
const targets = requireEnv("ROLE_TARGETS").split(",");
const count = Number(requireEnv("ROLE_COUNT"));
const client = new EventsClient({
  baseUrl: requireEnv("BUS_EVENTS_API_URL"),
  token: requireEnv("BUS_API_TOKEN"),
});
const requester = new Requester({
  transport: client,
  responseNames: targets.map(responseNameFor),
  timeout: 15_000,
  reconnect: { min: 50, max: 500 },
});
try {
  const results = await requestEach(requester, targets, count, runtime);
  // Each runtime has its own inspection hook; the client implements both.
  report({ runtime, results, inspected: inspect(client), templated: `${client}` });
} catch (error) {
  fail(error);
} finally {
  await requester.close();
}
