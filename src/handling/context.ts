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
  /**
   * Aborts when the handler should stop (the worker's drain timeout ran
   * out, or the attempt's `handlerTimeout`); a middleware may replace it
   * with a narrower one for the steps inside it, as the handler timeout
   * does, and puts the outer one back after `next()`.
   */
  signal: AbortSignal;
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

/**
 * Internal, not exported from `mod.ts`: what a middleware that only acts
 * once an attempt's outcome is known (idempotency recording it) hands the
 * worker instead of wrapping `next()` in an `async` frame of its own. The
 * worker calls it once per attempt, after the pipeline settled (whether it
 * resolved or rejected) and before the event is settled with the
 * transport, with `context.settlement` as the pipeline left it.
 */
export interface AttemptEnd {
  /**
   * Acts on the attempt's outcome, by `context.settlement` (set for every
   * failure). Must not throw; a promise it returns (an asynchronous store)
   * is awaited before the event is settled.
   */
  attemptEnded(context: HandlerContext): void | Promise<void>;
}

/**
 * Internal: the context the worker makes, with room for one
 * {@linkcode AttemptEnd}. A context made by hand (a middleware run without
 * a worker) has no such field: see {@linkcode canEndAttempt}.
 */
export interface WorkerContext extends HandlerContext {
  /** The hook to run when this attempt ends; one at most. */
  attemptEnd: AttemptEnd | undefined;
}

/**
 * Whether a middleware may register an {@linkcode AttemptEnd} on `context`:
 * it comes from the worker, which runs it, and no other middleware took the
 * one place yet. Otherwise the middleware must act after `await next()`
 * itself.
 */
export function canEndAttempt(context: HandlerContext): context is WorkerContext {
  return (context as Partial<WorkerContext>).attemptEnd === undefined && "attemptEnd" in context;
}

/**
 * Runs and clears the {@linkcode AttemptEnd} registered on `context`, if
 * any; returns what it returned (a promise to await, or nothing).
 */
export function endAttempt(context: WorkerContext): void | Promise<void> {
  const hook = context.attemptEnd;
  if (hook === undefined) return;
  context.attemptEnd = undefined;
  return hook.attemptEnded(context);
}
