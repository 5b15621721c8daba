/**
 * Lossy listeners: for events where dropping is acceptable (observability,
 * dashboards), a bounded buffer in front of the handlers instead of
 * backpressure, with drops counted and reported.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { EventEnvelope } from "./envelope.ts";

const logger = getLogger(["bus-integration", "worker"]);

/** What {@linkcode LossyOptions.onDrop} gets for each dropped event. */
export interface DropInfo {
  /** The event that was dropped (settled `done`, never handled). */
  readonly event: EventEnvelope;
  /** The buffer size that was full. */
  readonly buffer: number;
  /** Events this worker dropped so far, this one included. */
  readonly dropped: number;
}

/**
 * The `lossy` option of a worker or listener registration: events that
 * arrive while every handler is busy wait in a buffer of `buffer` events;
 * an event that arrives when the buffer is full is dropped, so the stream
 * is read at its own pace and never slowed down by the handlers.
 *
 * @example A dashboard feed that may skip events under load
 * ```ts
 * import type { LossyOptions } from "@bus/integration";
 *
 * const lossy: LossyOptions = {
 *   buffer: 1000,
 *   onDrop: ({ event, dropped }) => console.warn(`dropped ${event.id} (${dropped} so far)`),
 * };
 * ```
 */
export interface LossyOptions {
  /** Most events held waiting for a handler; an integer >= 1. */
  buffer: number;
  /** Called for each dropped event; a throw is logged and ignored. */
  onDrop?: ((info: DropInfo) => void) | undefined;
}

/**
 * Throws unless `value` is a valid `lossy` option (`undefined` and `false`
 * are: they mean critical).
 *
 * @param value The option as given.
 * @param where Prefixes the message, e.g. `Cannot run worker`.
 * @throws {TypeError} When it is not an object, or `onDrop` is not a function.
 * @throws {RangeError} When `buffer` is not an integer >= 1.
 */
export function assertLossyOptions(
  value: unknown,
  where: string,
): asserts value is LossyOptions | false | undefined {
  if (value === undefined || value === false) return;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`${where}: lossy is ${describe(value)}, expected { buffer } or false`);
  }
  const { buffer, onDrop } = value as Record<string, unknown>;
  if (typeof buffer !== "number" || !Number.isInteger(buffer) || buffer < 1) {
    throw new RangeError(`${where}: lossy.buffer is ${describe(buffer)}, expected an integer >= 1`);
  }
  if (onDrop !== undefined && typeof onDrop !== "function") {
    throw new TypeError(`${where}: lossy.onDrop is ${describe(onDrop)}, expected a function`);
  }
}

/**
 * Counts one dropped event into `stats` and tells `options.onDrop`; a
 * throwing `onDrop` is logged, never the stream's problem.
 */
export function reportDrop(
  options: LossyOptions,
  stats: { dropped: number },
  event: EventEnvelope,
): void {
  stats.dropped++;
  if (options.onDrop === undefined) return;
  try {
    options.onDrop({ event, buffer: options.buffer, dropped: stats.dropped });
  } catch (error) {
    logger.warn("onDrop threw: {error}", { error });
  }
}

/** A value as an option error message shows it. */
function describe(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
