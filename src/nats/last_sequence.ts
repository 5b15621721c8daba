/**
 * "The stream's last sequence now", asked of JetStream once for many
 * callers: a listener opened "from the newest event on" pins its start to
 * it, and a host opening a thousand listeners at once would otherwise send
 * a thousand stream-info requests (and parse a thousand answers, garbage
 * that grows the runtime's heap for good).
 *
 * Every caller gets the answer to a request sent after its call, so the
 * sequence is never older than the call: callers that arrive while a
 * request is in flight share the next one, sent once that one settled.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Coalesces stream-info requests; see the module doc. */
export class LastSequence {
  readonly #ask: () => Promise<number>;
  #inFlight: Promise<number> | undefined;
  #next: Promise<number> | undefined;

  /** `ask` sends one request and resolves with the stream's last sequence. */
  constructor(ask: () => Promise<number>) {
    this.#ask = ask;
  }

  /** The stream's last sequence, from a request sent after this call. */
  now(): Promise<number> {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return this.#send();
    this.#next ??= inFlight.then(settled, settled).then(() => {
      this.#next = undefined;
      return this.#send();
    });
    return this.#next;
  }

  #send(): Promise<number> {
    const request = this.#ask();
    this.#inFlight = request;
    const clear = () => {
      if (this.#inFlight === request) this.#inFlight = undefined;
    };
    request.then(clear, clear);
    return request;
  }
}

function settled(): void {}
