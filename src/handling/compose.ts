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
 * @throws {Error} From `next()`, when one middleware calls it twice.
 */
export function compose(
  middlewares: readonly HandlerMiddleware[],
  handler: PipelineHandler,
): Pipeline {
  const steps = [...middlewares];
  return (event, context) => {
    let reached = -1;
    const dispatch = async (index: number): Promise<void> => {
      if (index <= reached) {
        throw new Error("Cannot run the handler pipeline: next() was called twice");
      }
      reached = index;
      const step = steps[index];
      if (step === undefined) {
        await handler(event, context);
        return;
      }
      await step(event, context, () => dispatch(index + 1));
    };
    return dispatch(0);
  };
}
