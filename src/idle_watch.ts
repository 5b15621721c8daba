/**
 * How long an open stream may wait on the network for its next chunk: the
 * bound that finds a stream which went silent while its connection looked
 * open (a half-open TCP connection after a NAT or load balancer dropped it,
 * a server that hung), which would otherwise keep a listener "ready" and
 * deliver nothing, forever.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { isTimerBound, MAX_TIMER_DELAY, timerDelay } from "./async.ts";

/**
 * Times the stream's waits for the network, not the stream's life: a wait
 * begins when a read of the body is asked for and ends when a chunk
 * arrives, so a consumer that is busy (and reads nothing) never looks idle.
 *
 * It costs a chunk two field writes and a clock read, not a timer: one timer
 * runs while the stream is open, and when it fires it either finds the
 * stream quiet for the whole bound (`onIdle`) or sleeps for the rest of it,
 * counted from the wait in progress. A timer is armed again only by the
 * next wait after it found none.
 */
export class IdleWatch {
  readonly #timeout: number;
  readonly #onIdle: () => void;
  #waiting = false;
  #waitingSince = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** Calls `onIdle` once a wait has lasted `timeout` ms (a timer-safe, positive bound). */
  constructor(timeout: number, onIdle: () => void) {
    this.#timeout = timeout;
    this.#onIdle = onIdle;
  }

  /** A read of the network begins. */
  waiting(): void {
    if (this.#stopped) return;
    this.#waiting = true;
    this.#waitingSince = Date.now();
    if (this.#timer === undefined) this.#arm(this.#timeout);
  }

  /** The read answered (a chunk, the end, or an error). */
  answered(): void {
    this.#waiting = false;
  }

  /** Ends the watch: no more `onIdle`. */
  stop(): void {
    this.#stopped = true;
    this.#waiting = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#check, timerDelay(ms));
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    // No wait in progress: the next one arms the timer again.
    if (!this.#waiting || this.#stopped) return;
    const quiet = Date.now() - this.#waitingSince;
    if (quiet < this.#timeout) {
      this.#arm(this.#timeout - quiet);
      return;
    }
    this.stop();
    this.#onIdle();
  };
}

/**
 * The `idleTimeout` option checked: `undefined` (no bound) or a whole
 * number of ms from 1 to 2^31 − 1 (the longest a timer waits).
 *
 * @throws {RangeError} For anything else, naming the option.
 */
export function idleTimeoutOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!isTimerBound(value)) {
    throw new RangeError(
      `Cannot use idleTimeout ${
        String(value)
      }: expected a whole number of ms from 1 to ${MAX_TIMER_DELAY}`,
    );
  }
  return value;
}
