/**
 * Keeps a redelivering transport from redelivering the events a worker has
 * read but not started yet: they wait for a slot, or behind a busy ordering
 * key, and without word the transport would hand them out again once its
 * ack wait ran out (and the worker would then handle both copies).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { timerDelay } from "./async.ts";
import type { EventSettler } from "./listener.ts";

/**
 * One interval for all of a worker's queued events, not one each: calls
 * `working()` on every queued settler of a transport that redelivers, and
 * runs only while there is one.
 */
export class QueuedHeartbeat {
  // Made at the first queued event: a worker on a transport that does not
  // redeliver (and an idle one) holds none.
  #queued: Set<EventSettler> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Reports `settler` as worked on until {@linkcode started} (a no-op where nothing redelivers). */
  queued(settler: EventSettler): void {
    const interval = settler.workingInterval;
    if (!settler.redelivers || interval === undefined || !(interval > 0)) return;
    (this.#queued ??= new Set()).add(settler);
    this.#timer ??= setInterval(() => this.#beat(), timerDelay(interval));
  }

  /** `settler`'s event started (its handling keeps it alive now) or was given up. */
  started(settler: EventSettler): void {
    if (this.#queued?.delete(settler) && this.#queued.size === 0) this.stop();
  }

  /** Forgets every queued event: the worker has stopped. */
  stop(): void {
    this.#queued?.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #beat(): void {
    for (const settler of this.#queued ?? []) settler.working().catch(() => {});
  }
}
