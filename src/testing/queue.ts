/**
 * A FIFO with a size limit that drops its oldest entries, used for event
 * history and for the pending events of unicast groups.
 *
 * @module
 */

/**
 * A first-in first-out queue holding at most `limit` items; pushing past
 * the limit drops the oldest item. `shift()` is amortised O(1), which
 * `Array.prototype.shift` is not for queues of thousands of events.
 */
export class BoundedQueue<T> {
  #items: T[] = [];
  #head = 0;
  readonly #limit: number;

  /** Creates an empty queue that keeps at most `limit` items. */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Cannot use queue limit ${limit}: expected a positive integer`);
    }
    this.#limit = limit;
  }

  /** How many items the queue holds. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Appends `item`, dropping the oldest item when the queue is full; returns whether it dropped. */
  push(item: T): boolean {
    this.#items.push(item);
    const dropped = this.size > this.#limit;
    if (dropped) this.#head++;
    this.#compact();
    return dropped;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#head++;
    this.#compact();
    return item;
  }

  /** The items, oldest first, as a new array. */
  toArray(): T[] {
    return this.#items.slice(this.#head);
  }

  /** Removes every item and returns them, oldest first. */
  drain(): T[] {
    const items = this.toArray();
    this.#items = [];
    this.#head = 0;
    return items;
  }

  #compact(): void {
    // Dropping the consumed prefix only once it dominates keeps each
    // operation amortised O(1) while bounding the wasted slots.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
