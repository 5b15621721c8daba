/**
 * The handler retry policy as a middleware: it decides, for each failed
 * attempt, whether the event gets another one (`retry` after a wait) or has
 * failed for good (`dead`). It only decides; the worker waits and runs the
 * pipeline again where the transport cannot redeliver, and the transport
 * redelivers (JetStream `nak(delay)`) where it can.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { describeError, NonRetryableError } from "../errors.ts";
import type { Settlement } from "../transport.ts";
import type { OutcomeStep } from "./outcome_step.ts";
import { requestedDelay, retryDelay } from "./retry_delay.ts";
import type { RetryPolicy } from "./retry_policy.ts";

/**
 * Sets `context.settlement` when the inner pipeline fails — `retry` with the
 * policy's next wait, or `dead` when the error is not retryable or
 * `context.attempt` reached `attempts`; the failure goes on outwards, so
 * the outer steps see it (and can tell from the settlement whether it is
 * final). A settlement an inner middleware already set is left alone.
 *
 * @param policy The validated policy (`resolveRetryPolicy`).
 * @param random Draws the jitter, from [0, 1).
 */
export function retry(policy: RetryPolicy, random: () => number = Math.random): OutcomeStep {
  return {
    failed(error, _event, context) {
      context.settlement ??= retrySettlement(policy, context.attempt, error, random);
    },
  };
}

/** How attempt `attempt` at an event that failed with `error` is settled under `policy`. */
export function retrySettlement(
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  random: () => number,
): Settlement {
  const problem = unretryable(policy, error);
  if (problem !== undefined) return { type: "dead", reason: `not retryable: ${problem}` };
  if (attempt >= policy.attempts) {
    return {
      type: "dead",
      reason: `attempt ${attempt} of ${policy.attempts} failed: ${describeError(error)}`,
    };
  }
  return { type: "retry", delay: retryDelay(policy, attempt, random(), requestedDelay(error)) };
}

/** Why `error` may not be retried, or `undefined` when it may. */
function unretryable(policy: RetryPolicy, error: unknown): string | undefined {
  if (error instanceof NonRetryableError) return describeError(error);
  if (policy.retryable === undefined) return undefined;
  try {
    return policy.retryable(error) ? undefined : describeError(error);
  } catch (thrown) {
    // A classifier that cannot decide must not turn one failure into endless attempts.
    return `${describeError(error)} (retryable() threw ${describeError(thrown)})`;
  }
}
