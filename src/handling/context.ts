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
  /** Publishes replies and other events for this event; the handler gets the same one. */
  readonly publisher: Publisher;
  /** Aborts when the handler should stop (the worker's drain timeout ran out). */
  readonly signal: AbortSignal;
  /**
   * How the event is settled with the transport once the pipeline ends.
   * Left `undefined`, the worker settles `done` when the pipeline resolves
   * and `dead` when it rejects; a middleware (retry, say) sets it to decide
   * otherwise.
   */
  settlement: Settlement | undefined;
}
