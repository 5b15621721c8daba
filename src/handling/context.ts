/**
 * What every middleware of the handler pipeline gets with an event besides
 * the envelope.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { Publisher } from "../publisher.ts";
import type { Settlement } from "../transport.ts";

/** The per-event state the pipeline's middlewares share. */
export interface HandlerContext {
  /**
   * Publishes replies and other events for this event; the handler gets the
   * one set here when the pipeline reaches it, so a middleware may replace
   * it with a wrapper (to record replies, or trace publishes).
   */
  publisher: Publisher;
  /** Aborts when the handler should stop (the worker's drain timeout ran out). */
  readonly signal: AbortSignal;
  /**
   * Which attempt at this event this is, from 1: the transport's delivery
   * count, plus the worker's own retries where the transport does not
   * redeliver.
   */
  readonly attempt: number;
  /**
   * How the event is settled with the transport once the pipeline ends.
   * Left `undefined`, the worker settles `done` when the pipeline resolves
   * and `dead` when it rejects; a middleware (retry, say) sets it to decide
   * otherwise.
   */
  settlement: Settlement | undefined;
}
