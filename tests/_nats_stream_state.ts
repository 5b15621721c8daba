/**
 * What the NATS tests read back from the stream: the filter subjects of its
 * consumers (polled, since consumer deletes are not awaited) and the ids of
 * one event name's history.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import type { NatsTransport } from "../nats.ts";

/** The stream every test here uses: the transport's default. */
export const STREAM = "BUS_EVENTS";

/**
 * The consumers on `stream` now. nats-server 2.9 lists a consumer that is
 * being deleted as `null` (its info is already gone): it is left out here,
 * as the delete will finish.
 */
export async function listConsumers(
  jsm: JetStreamManager,
  stream = STREAM,
): Promise<ConsumerInfo[]> {
  const listed: (ConsumerInfo | null)[] = await jsm.consumers.list(stream).next();
  return listed.filter((consumer) => consumer !== null);
}

/** The filter subjects of the consumers on the stream now, sorted. */
export async function consumerFilters(jsm: JetStreamManager): Promise<string[]> {
  const consumers = await listConsumers(jsm);
  return consumers.map((consumer) => consumer.config.filter_subject ?? "").sort();
}

/** Polls until the stream's consumers have `expected` filters (deletes are not awaited). */
export async function consumersBecome(jsm: JetStreamManager, expected: string[]): Promise<void> {
  let seen: string[] = [];
  for (let tries = 0; tries < 400; tries++) {
    seen = await consumerFilters(jsm);
    if (JSON.stringify(seen) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(seen, expected, "the stream's consumers");
}

/**
 * Ids of every event on `name` past stream sequence `after` the stream
 * holds now, read with replay up to the end.
 */
export async function history(
  transport: NatsTransport,
  name: string,
  after = 0,
): Promise<string[]> {
  const ids: string[] = [];
  const subscription = await transport.open({ name, replay: true, follow: false });
  for await (const event of subscription) {
    if (Number(event.id) > after) ids.push(event.id!);
    await subscription.settle(event, { type: "done" });
  }
  return ids;
}
