/**
 * A counting limit on concurrent work, with abortable waits and a way to
 * wait for everything in flight to finish.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { RESOLVED, waitInLine } from "./async.ts";

/** At most `size` holders at once; waiters are served first come, first served. */
export class Slots {
  readonly size: number;
  #inUse = 0;
  // Made by the first wait: a host keeps one Slots per registration, most never full.
  #waiting: Array<() => void> | undefined;
  #idle: Array<() => void> | undefined;

  /** @throws {RangeError} unless `size` is a positive integer. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Cannot use concurrency: current value is ${size}, expected an integer >= 1`,
      );
    }
    this.size = size;
  }

  /** How many slots are held now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes a slot, waiting for one; rejects with `signal.reason` on abort. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inUse < this.size) {
      this.#inUse++;
      // Granted at once, as for nearly every event: no promise of its own.
      return RESOLVED;
    }
    return waitInLine(this.#waiting ??= [], signal);
  }

  /** Returns a slot, or hands it to the next waiter: it is theirs before they resume. */
  release(): void {
    const next = this.#waiting?.shift();
    if (next) return next();
    this.#inUse--;
    if (this.#inUse === 0 && this.#idle) this.#idle.splice(0).forEach((resolve) => resolve());
  }

  /** Resolves once no slot is held. */
  idle(): Promise<void> {
    if (this.#inUse === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle ??= []).push(resolve));
  }
}
