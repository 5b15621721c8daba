/**
 * The resume point of a subscription that hands out envelopes and gets them
 * settled in any order: it moves only over the settled prefix of the
 * delivery order, so an event still in a handler is delivered again after
 * a reconnect.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Delivered items in order, each with the resume point after it. */
export class SettledPrefix<T> {
  // Delivered and not yet settled, in delivery order; a settled slot is
  // cleared and the resume point moves over the cleared prefix. Holds at
  // most what the reader keeps unsettled at once.
  readonly #items: (T | undefined)[] = [];
  readonly #resumeIds: string[] = [];
  #prefix = 0;
  #resumeId: string | undefined;

  /** Starts at `resumeId`: the point the subscription was opened with. */
  constructor(resumeId: string | undefined) {
    this.#resumeId = resumeId;
  }

  /** The resume point: every item up to it is settled. */
  get resumeId(): string | undefined {
    return this.#resumeId;
  }

  /** How many items are delivered and not settled. */
  get unsettled(): number {
    return this.#items.length - this.#prefix;
  }

  /** Records a delivered `item`, after which the resume point is `resumeId`. */
  add(item: T, resumeId: string): void {
    this.#items.push(item);
    this.#resumeIds.push(resumeId);
  }

  /** Marks `item` settled; `false` when it was not delivered or is settled already. */
  settle(item: T): boolean {
    const items = this.#items;
    const at = items.indexOf(item, this.#prefix);
    if (at === -1) return false;
    items[at] = undefined;
    while (this.#prefix < items.length && items[this.#prefix] === undefined) {
      this.#resumeId = this.#resumeIds[this.#prefix++];
    }
    if (this.#prefix === items.length) {
      items.length = 0;
      this.#resumeIds.length = 0;
      this.#prefix = 0;
    }
    return true;
  }
}
