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
import {
  isOutcomeStep,
  type OutcomeStep,
  outcomeSteps,
  type PipelineStep,
} from "./outcome_step.ts";

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
 * Composes `steps` (outermost first) around `handler`. A step is a
 * middleware, or an outcome step (`outcome_step.ts`); each run of adjacent
 * outcome steps runs as one middleware.
 *
 * Each step's promise is handed straight to the step outside it, with no
 * `async` frame of the pipeline's own in between, and a handler that
 * returns synchronously costs no promise: per event the pipeline adds one
 * closure per middleware, nothing else. A step or handler that throws
 * synchronously rejects the pipeline all the same.
 *
 * The library's own steps (process metrics, counting, logging failures,
 * idempotency, the error response, dead letters, retry) are outcome steps,
 * so an attempt costs one promise reaction for all of them. As middlewares
 * of their own, each returning `next().then(…)`, they made a worker whose
 * handler does nothing 11 % slower with idempotency off (six A/B runs of 25
 * reads of the worker benchmark's plain corpus: 42.8–49.0 ms against
 * 49.9–52.0 ms) and 7 % slower with it on, the default (five runs:
 * 48.7–54.8 ms against 53.3–58.0 ms), 15 % with metrics on, as in a `Host`
 * (four runs: 53.0–56.9 ms against 61.2–68.6 ms; 2026-12-02). As `async`
 * middlewares with `try { await next() }` they had cost 8 % more again.
 *
 * @throws {Error} From `next()`, when one middleware calls it twice.
 */
export function compose(
  pipelineSteps: readonly PipelineStep[],
  handler: PipelineHandler,
): Pipeline {
  const steps = grouped(pipelineSteps);
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

/** `steps` as middlewares: each run of adjacent outcome steps made one. */
function grouped(steps: readonly PipelineStep[]): HandlerMiddleware[] {
  const middlewares: HandlerMiddleware[] = [];
  let run: OutcomeStep[] = [];
  for (const step of steps) {
    if (isOutcomeStep(step)) {
      run.push(step);
      continue;
    }
    if (run.length > 0) middlewares.push(outcomeSteps(run));
    run = [];
    middlewares.push(step);
  }
  if (run.length > 0) middlewares.push(outcomeSteps(run));
  return middlewares;
}
