/**
 * A reference Bus Events API server for tests and local development: an
 * in-memory backend behind the documented routes (`POST /api/v1/events`,
 * `GET /api/v1/events/stream`) with broadcast and unicast delivery, replay,
 * `Last-Event-ID` resume, NDJSON or SSE framing, HS256 bearer tokens, fault
 * injection and counters. It uses only web-standard APIs plus `jose` and
 * `srvx`, so it runs on Deno, Node and Bun. The core library never imports
 * it.
 *
 * @example Serve on a free loopback port and publish one event
 * ```ts
 * import { createEventsApi } from "@bus/integration/testing";
 *
 * const api = createEventsApi({ heartbeatMs: 1_000 });
 * const served = await api.serve();
 * try {
 *   const response = await fetch(`${served.url}/api/v1/events`, {
 *     method: "POST",
 *     headers: { authorization: `Bearer ${await api.mintToken()}` },
 *     body: JSON.stringify({ name: "example.ping", payload: {} }),
 *   });
 *   console.log(response.status, await response.json()); // 202 { accepted: true, id, name }
 * } finally {
 *   await api.close();
 * }
 * ```
 *
 * @module
 */

export {
  createEventsApi,
  type EventsApi,
  type EventsApiOptions,
  type ServedEventsApi,
} from "./src/testing/events_api.ts";
export type { MintTokenOptions } from "./src/testing/auth.ts";
export type {
  EventsApiFaults,
  FailNextOptions,
  FaultRoute,
  StreamFilter,
} from "./src/testing/faults.ts";
export type { DeliveredFilter, EventsApiStats } from "./src/testing/stats.ts";
export type { ServeOptions } from "./src/testing/serve.ts";
export { FakeTime, TimeError } from "./src/testing/fake_time.ts";
export { testWorker, type TestWorkerOptions, type WorkerHarness } from "./src/testing/harness.ts";
