/**
 * Starts the reference Events API on loopback for a test, with a client
 * holding a valid token; `await using` closes both.
 *
 * @module
 */

import type { EventsApi, EventsApiOptions, ServedEventsApi } from "../testing.ts";
import { createEventsApi } from "../testing.ts";
import { type EventEnvelope, EventsClient, type EventsClientOptions } from "../mod.ts";

/** A served reference server and a client for it. */
export interface TestServer extends AsyncDisposable {
  api: EventsApi;
  served: ServedEventsApi;
  token: string;
  client: EventsClient;
  /** Another client for the same server, with other options. */
  newClient(options?: Partial<EventsClientOptions>): EventsClient;
}

/** Serves a fresh reference server on 127.0.0.1 and a random port. */
export async function startServer(options: EventsApiOptions = {}): Promise<TestServer> {
  const api = createEventsApi({ heartbeatMs: 0, ...options });
  const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const token = await api.mintToken({ sub: "tester" });
  const newClient = (extra: Partial<EventsClientOptions> = {}) =>
    new EventsClient({ baseUrl: served.url, token, ...extra });
  return {
    api,
    served,
    token,
    client: newClient(),
    newClient,
    async [Symbol.asyncDispose]() {
      await api.close();
    },
  };
}

/** Collects `count` envelopes from an async iterable, then stops it. */
export async function take<T>(iterable: AsyncIterable<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  if (count === 0) return items;
  for await (const item of iterable) {
    items.push(item);
    if (items.length >= count) break;
  }
  return items;
}

/**
 * Publishes in flight at once by {@linkcode publishAll}: each holds a
 * connection at both ends (the client's and the server's, in one test
 * process), so a hundred keep a burst far below a 1,024-descriptor limit,
 * where 500 at once ran the process out of them.
 */
export const PUBLISHES_AT_ONCE = 100;

/** Publishes every event through `client`, {@linkcode PUBLISHES_AT_ONCE} at a time, in order of the batches. */
export async function publishAll(
  client: EventsClient,
  events: readonly Parameters<EventsClient["publish"]>[0][],
): Promise<void> {
  for (let i = 0; i < events.length; i += PUBLISHES_AT_ONCE) {
    await Promise.all(
      events.slice(i, i + PUBLISHES_AT_ONCE).map((event) => client.publish(event)),
    );
  }
}

/** Every event of `name` the server retains, oldest first. */
export async function retained(server: TestServer, name: string): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for await (const event of server.client.stream({ name, replay: true, follow: false })) {
    events.push(event);
  }
  return events;
}
