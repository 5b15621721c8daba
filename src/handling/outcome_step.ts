/**
 * Outcome steps: pipeline steps that act on how the rest of the pipeline
 * ended (count it, log it, answer it, dead-letter it, decide its retry)
 * and never instead of it. `compose()` runs each run of adjacent ones as a
 * single middleware: one promise reaction for all of them, not a `next`
 * closure, a promise and a reaction for each.
 *
 * Why: the worker's own steps are five of these, and giving each its own
 * middleware frame cost about a tenth of a do-nothing worker's time.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventEnvelope } from "../envelope.ts";
import type { HandlerMiddleware } from "./compose.ts";
import type { HandlerContext } from "./context.ts";

/**
 * A step that observes the rest of the pipeline and may act on its
 * failure, which then goes on outwards (the same error, unless a hook
 * throws another). Every hook is optional. A step that must, for some
 * events, run around the rest (wait before it, or answer instead of it)
 * says so from `started()`.
 */
export interface OutcomeStep {
  /**
   * Whether the hooks get the `Date.now()` the attempt started at (one
   * clock reading per event for a run of steps, however many ask).
   * `Date.now()`, not `performance.now()`: that cost Deno about 0.2 µs a
   * call, a tenth of a do-nothing worker's time for the two a duration
   * takes; over many events whole milliseconds still sum to the true time.
   */
  readonly timed?: boolean | undefined;
  /**
   * Runs before the rest of the pipeline; outer steps first. Returning a
   * middleware hands this event to it: it runs in this step's place,
   * around the steps inside this one and the rest of the pipeline (its
   * `next`), and this step's own `succeeded()` and `failed()` do not run.
   */
  started?(event: EventEnvelope, context: HandlerContext): HandlerMiddleware | undefined;
  /**
   * Runs once the rest resolved; inner steps first. `startedAt` (for a
   * `timed` step) is when the attempt started, or `undefined` when the pipeline ran with its settlement decided already
   * (no attempt of its own: a worker giving up a retry).
   */
  succeeded?(event: EventEnvelope, context: HandlerContext, startedAt: number | undefined): void;
  /**
   * Runs once the rest rejected with `error`, inner steps first, each after
   * the one inside it settled; `startedAt` as for `succeeded()`.
   */
  failed?(
    error: unknown,
    event: EventEnvelope,
    context: HandlerContext,
    startedAt: number | undefined,
  ): void | Promise<void>;
}

/** A step of the pipeline `compose()` builds: a middleware, or an outcome step. */
export type PipelineStep = HandlerMiddleware | OutcomeStep;

/** Whether `step` is an outcome step (not a middleware function). */
export function isOutcomeStep(step: PipelineStep): step is OutcomeStep {
  return typeof step !== "function";
}

/**
 * Hands the outcome of `rest` to the `succeeded()` and `failed()` hooks of
 * some steps, with the attempt's start (`undefined` when no step is
 * `timed`, or no attempt runs).
 */
type Observer = (
  rest: Promise<void>,
  event: EventEnvelope,
  context: HandlerContext,
  startedAt: number | undefined,
) => Promise<void>;

/** The {@linkcode Observer} of `steps` (outermost first): inner steps see the outcome first. */
function observerOf(steps: readonly OutcomeStep[]): Observer {
  const successes = steps.filter((step) => step.succeeded !== undefined).reverse();
  const failures = steps.filter((step) => step.failed !== undefined).reverse();

  async function failed(
    error: unknown,
    event: EventEnvelope,
    context: HandlerContext,
    startedAt: number | undefined,
  ): Promise<never> {
    for (const step of failures) {
      try {
        await step.failed!(error, event, context, startedAt);
      } catch (thrown) {
        // As a middleware's rethrow would: the steps outside see this one.
        error = thrown;
      }
    }
    throw error;
  }

  if (successes.length === 0 && failures.length === 0) return (rest) => rest;
  return (rest, event, context, startedAt) =>
    rest.then(
      successes.length === 0 ? undefined : () => {
        for (const step of successes) step.succeeded!(event, context, startedAt);
      },
      failures.length === 0
        ? undefined
        : (error: unknown) => failed(error, event, context, startedAt),
    );
}

/**
 * One middleware running `steps` (outermost first) around the rest of the
 * pipeline, as if each were a middleware of its own in that order.
 */
export function outcomeSteps(steps: readonly OutcomeStep[]): HandlerMiddleware {
  // The runs of the steps from each index on, each made once: a step that
  // hands an event to a middleware runs the run inside it as that one's `next`.
  const runs: HandlerMiddleware[] = [];
  const runFrom = (start: number): HandlerMiddleware =>
    runs[start] ??= runOf(
      steps.slice(start),
      start + 1 < steps.length ? (from) => runFrom(start + from) : undefined,
    );
  return runFrom(0);
}

/**
 * The middleware of `steps`; `inner(from)` is the run of the steps from
 * index `from` on (1 or more, up to the last), made when first asked.
 */
function runOf(
  steps: readonly OutcomeStep[],
  inner: ((from: number) => HandlerMiddleware) | undefined,
): HandlerMiddleware {
  const timed = steps.some((step) => step.timed === true);
  const observe = observerOf(steps);
  // Where step i hands an event to a middleware, the steps outside it observe that one.
  const outside = steps.map((_, i) => observerOf(steps.slice(0, i)));
  return (event, context, next) => {
    // A settlement decided before the pipeline runs: no attempt of its own to time.
    const startedAt = timed && context.settlement === undefined ? Date.now() : undefined;
    for (let i = 0; i < steps.length; i++) {
      const around = steps[i]!.started?.(event, context);
      if (around === undefined) continue;
      const rest = i + 1 < steps.length ? inner!(i + 1) : undefined;
      const runRest = rest === undefined ? next : () => rest(event, context, next);
      let handled: Promise<void>;
      try {
        handled = around(event, context, runRest);
      } catch (error) {
        handled = Promise.reject(error);
      }
      return outside[i]!(handled, event, context, startedAt);
    }
    return observe(next(), event, context, startedAt);
  };
}
