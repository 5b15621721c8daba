/**
 * The handler pipeline's composition: an ordered list of middlewares around
 * the user's handler, each `(event, context, next)`, in the style of Hono's
 * `compose`. An outer middleware sees the inner outcome after `await next()`
 * (a return, or the error it rethrows).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { RESOLVED } from "../async.ts";
import type { EventEnvelope } from "../envelope.ts";
import type { HandlerContext } from "./context.ts";

/**
 * One step of the handler pipeline. Call `next()` at most once to run the
 * rest of the pipeline (the inner middlewares, then the handler); its
 * rejection is the inner failure, which the middleware may rethrow, replace
 * or swallow. Not calling `next()` skips the handler (a duplicate, say).
 *
 * @example Time every handler
 * ```ts
 * import type { HandlerMiddleware } from "@bus/integration";
 *
 * const timing: HandlerMiddleware = async (event, _context, next) => {
 *   const started = performance.now();
 *   try {
 *     await next();
 *   } finally {
 *     console.log(event.name, performance.now() - started);
 *   }
 * };
 * ```
 */
export type HandlerMiddleware = (
  event: EventEnvelope,
  context: HandlerContext,
  next: () => Promise<void>,
) => Promise<void>;

/** The innermost step: the user's handler, adapted to the pipeline. */
export type PipelineHandler = (event: EventEnvelope, context: HandlerContext) => unknown;

/** A composed pipeline: runs every middleware and the handler for one event. */
export type Pipeline = (event: EventEnvelope, context: HandlerContext) => Promise<void>;

/**
 * Composes `middlewares` (outermost first) around `handler`.
 *
 * Each step's promise is handed straight to the step outside it, with no
 * `async` frame of the pipeline's own in between, and a handler that
 * returns synchronously costs no promise: per event the pipeline adds one
 * closure per step, nothing else. A step or handler that throws
 * synchronously rejects the pipeline all the same.
 *
 * The library's own steps that act only on the outcome (counting, logging
 * failures, retry, dead letters, the error response) are not `async`
 * functions either: each returns `next().then(…)` or `next().catch(…)`, so
 * an attempt costs it one promise and no suspended frame, since `next()`
 * always returns a promise. As `async` steps with `try { await next() }`,
 * the four of them that were (all but the error response) made a worker
 * whose handler does nothing 8 % slower (the median of seven A/B pairs of
 * 25 reads of the worker benchmark's plain corpus, 1–14 % by pair;
 * 2026-12-02).
 *
 * @throws {Error} From `next()`, when one middleware calls it twice.
 */
export function compose(
  middlewares: readonly HandlerMiddleware[],
  handler: PipelineHandler,
): Pipeline {
  const steps = [...middlewares];
  const count = steps.length;
  return (event, context) => {
    let reached = -1;
    const dispatch = (index: number): Promise<void> => {
      if (index <= reached) {
        return Promise.reject(
          new Error("Cannot run the handler pipeline: next() was called twice"),
        );
      }
      reached = index;
      try {
        if (index < count) {
          const step = steps[index]!(event, context, () => dispatch(index + 1));
          // A step typed in JavaScript may return nothing; the pipeline stays a promise.
          return step instanceof Promise ? step : settled(step);
        }
        return settled(handler(event, context));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}

/** The handler's outcome as a `Promise<void>`: shared and resolved for a synchronous return. */
function settled(result: unknown): Promise<void> {
  if (
    result === undefined || result === null ||
    typeof (result as { then?: unknown }).then !== "function"
  ) {
    return RESOLVED;
  }
  return Promise.resolve(result).then(discard);
}

function discard(): void {}
