/**
 * Counting what the handler pipeline did, for health reports and tests.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { describeError } from "../errors.ts";
import type { OutcomeStep } from "./outcome_step.ts";

/** How many {@linkcode WorkerStats.recentDeadLetters} a worker keeps. */
export const RECENT_DEAD_LETTERS = 10;

/** A dead letter a worker published, as its status page lists it. */
export interface RecentDeadLetter {
  /** When it was published (ISO 8601). */
  at: string;
  /** The event's name. */
  name: string;
  /** The event's id. */
  id: string | undefined;
  /** The event's correlation id. */
  correlationId: string | undefined;
  /** The dead letter's event name (what `redrive` reads). */
  deadLetter: string;
  /** Attempts made. */
  attempts: number;
  /** Why it failed for good: `name: message` of the last error. */
  reason: string;
}

/** Live counters of a worker. */
export class WorkerStats {
  /**
   * Events handled successfully: the handler returned (an event that
   * succeeded after retries counts once), or the event was a duplicate
   * answered from the idempotency store without running it, which
   * {@linkcode WorkerStats.duplicates} counts too.
   */
  handled = 0;
  /** Events that failed for good: after their last attempt, or not retryable. */
  failed = 0;
  /** Failed attempts that were scheduled to run again (the retry policy's `retry`). */
  retried = 0;
  /** Events that failed for good and were published as dead letters. */
  deadLettered = 0;
  /** Dead letters that could not be published (logged; redelivered where the transport can). */
  deadLetterFailed = 0;
  /** Malformed lines or events skipped. */
  invalid = 0;
  /** Handlers running now. */
  inFlight = 0;
  /** Most handlers that ran at the same moment. */
  maxInFlight = 0;
  /** Events a lossy worker dropped because its buffer was full. */
  dropped = 0;
  /** Duplicates (a handled idempotency key) answered without running the handler. */
  duplicates = 0;
  /** Events read but not handed to a handler yet: waiting for a slot, or behind a busy ordering key. */
  queued = 0;
  /** The most events that were queued at one moment. */
  maxQueued = 0;
  /** The last handler or listener failure, for health reports. */
  lastError: string | undefined = undefined;
  /** The last {@linkcode RECENT_DEAD_LETTERS} dead letters published, newest first. */
  readonly recentDeadLetters: RecentDeadLetter[] = [];
  // Made by the first idle() that waits: a host keeps one WorkerStats per registration.
  #idle: Array<() => void> | undefined;

  /**
   * Resolves once no handler is in flight (at once when none is), with
   * every counter of the events that finished already updated: in a test,
   * `await stats.idle()` after a reply arrived, before reading `handled`.
   */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle ??= []).push(resolve));
  }

  /** Counts a published dead letter and keeps it among the recent ones. */
  deadLetterPublished(deadLetter: RecentDeadLetter): void {
    this.deadLettered++;
    this.recentDeadLetters.unshift(deadLetter);
    if (this.recentDeadLetters.length > RECENT_DEAD_LETTERS) this.recentDeadLetters.pop();
  }

  /** Marks one handler finished; wakes {@linkcode WorkerStats.idle} waiters at zero. */
  finished(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.#idle !== undefined && this.#idle.length > 0) {
      this.#idle.splice(0).forEach((wake) => wake());
    }
  }
}

/**
 * The outermost step: counts every attempt into `stats` (in flight while
 * the rest runs, then handled, retried — when the settlement is `retry` —
 * or failed, with its error) and passes the outcome on unchanged. A
 * duplicate answered by the idempotency step inside it succeeds, so it
 * counts as handled (and as a duplicate there).
 */
export function countOutcomes(stats: WorkerStats): OutcomeStep {
  return {
    started() {
      stats.inFlight++;
      if (stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;
    },
    succeeded() {
      stats.handled++;
      stats.finished();
    },
    failed(error, _event, context) {
      try {
        if (context.settlement?.type === "retry") stats.retried++;
        else stats.failed++;
        stats.lastError = describeError(error);
      } finally {
        stats.finished();
      }
    },
  };
}
