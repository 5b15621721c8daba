/**
 * A bounded table of string keys kept in typed arrays, in least recently
 * used order: what `MemoryIdempotencyStore` indexes its keys with. A key of
 * Latin-1 characters (UUIDs, ULIDs, hex digests: nearly every idempotency
 * key) is copied into a byte arena, so the table keeps no string and no
 * object per key on the JavaScript heap, and a garbage collection has
 * nothing of it to copy or trace (a `Map` that only kept 20,000 fresh keys
 * cost the worker benchmark about 0.5 µs an event, most of it in
 * collecting garbage).
 *
 * This module is browser compatible.
 *
 * @module
 */

/** What an index with no neighbour in recency order, or a key not found, is. */
export const NO_INDEX = -1;

/** Entries the table makes room for at first; it grows fourfold up to its limit. */
const FIRST_CAPACITY = 256;
/** Bytes of the arena per entry at first (a UUID has 36). */
const FIRST_BYTES_PER_ENTRY = 40;
/** `#lengths` of a key kept in `#strings`. */
const AS_STRING = -1;

/**
 * Keys of at most `limit` entries, each under a small integer `group` (the
 * idempotency store's scope-and-name prefix) and found by its characters.
 * An entry has an index in `[0, capacity)`, stable while it is in the
 * table, by which callers keep their own per-entry arrays. Open addressing
 * with linear probing over a seeded hash, at most half full; removal shifts
 * the rest of the probe run back, so no tombstones build up.
 */
export class KeyTable {
  /** Most entries. */
  readonly limit: number;
  /** Every index is below this; it grows fourfold up to `limit`. */
  capacity = 0;
  #size = 0;
  /** Slot → entry index + 1; 0 is an empty slot. */
  #slots = new Int32Array(0);
  #mask = 0;
  // Per entry, by its index:
  #hashes = new Int32Array(0);
  #groups = new Int32Array(0);
  /** A key's length, or {@linkcode AS_STRING} when it is kept in `#strings`. */
  #lengths = new Int32Array(0);
  /** Where a key's characters start in `#chars`. */
  #offsets = new Int32Array(0);
  #older = new Int32Array(0);
  #newer = new Int32Array(0);
  /** The keys' characters one after another; removed keys leave gaps until the next compaction. */
  #chars = new Uint8Array(0);
  /** Bytes of `#chars` handed out, and of those the ones live keys hold. */
  #charsUsed = 0;
  #charsLive = 0;
  /** Keys beyond Latin-1, by index. */
  readonly #strings = new Map<number, string>();
  #oldest = NO_INDEX;
  #newest = NO_INDEX;
  /** Indices given back by `remove()`, reused before fresh ones. */
  #free = new Int32Array(0);
  #freeCount = 0;
  /** Fresh indices start here. */
  #used = 0;
  /** Random per table, so that keys chosen to collide in one process do not in another. */
  readonly #seed = (Math.random() * 0x1_0000_0000) | 0;
  /** The hash `find()` computed last, for the `insert()` that follows a miss, and whether that key was beyond Latin-1. */
  #lastHash = 0;
  /** The empty slot that `find()` ended at, or -1 once a removal or growth moved the slots. */
  #lastSlot = -1;
  #lastWide = false;

  /** @throws {RangeError} unless `limit` is an integer >= 1. */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot use key table limit: current value is ${limit}, expected an integer >= 1`,
      );
    }
    this.limit = limit;
    this.#chars = new Uint8Array(Math.min(limit, FIRST_CAPACITY) * FIRST_BYTES_PER_ENTRY);
    this.#grow(Math.min(limit, FIRST_CAPACITY));
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The least recently used entry's index, or {@linkcode NO_INDEX} when empty. */
  get oldest(): number {
    return this.#oldest;
  }

  /**
   * The index of `key` under `group`, or {@linkcode NO_INDEX}. On the way
   * it copies the key's characters to where `insert()` would keep them, so
   * that a miss reads the key once.
   */
  find(group: number, key: string): number {
    const hash = this.#hashAndCopy(group, key);
    this.#lastHash = hash;
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = hash & mask;; slot = (slot + 1) & mask) {
      const stored = slots[slot]!;
      if (stored === 0) {
        this.#lastSlot = slot;
        return NO_INDEX;
      }
      const index = stored - 1;
      if (
        this.#hashes[index] === hash && this.#groups[index] === group && this.#holds(index, key)
      ) {
        this.#lastSlot = -1;
        return index;
      }
    }
  }

  /**
   * Adds `key` under `group` as the most recently used entry and returns
   * its index. Call it right after a `find()` of the same key that found
   * nothing (it reuses that hash, the slot it ended at and the characters
   * it copied; a `remove()` in between is fine), and only while
   * `size < limit`.
   */
  insert(group: number, key: string): number {
    let index: number;
    if (this.#freeCount > 0) index = this.#free[--this.#freeCount]!;
    else {
      if (this.#used === this.capacity) {
        this.#grow(this.#nextCapacity());
        // Growing moved the arena, without the characters find() put past its end.
        this.#copyToFreeEnd(key);
      }
      index = this.#used++;
    }
    const hash = this.#lastHash;
    this.#hashes[index] = hash;
    this.#groups[index] = group;
    this.#keep(index, key);
    if (this.#lastSlot >= 0) this.#slots[this.#lastSlot] = index + 1;
    else this.#place(index, hash);
    this.#lastSlot = -1;
    this.#size++;
    this.#append(index);
    return index;
  }

  /** Forgets the entry at `index`; the index may be handed out again. */
  remove(index: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = this.#hashes[index]! & mask;
    while (slots[hole] !== index + 1) hole = (hole + 1) & mask;
    // Move back each later entry of the probe run whose home slot the hole now cuts it off from.
    for (let slot = (hole + 1) & mask; slots[slot] !== 0; slot = (slot + 1) & mask) {
      const home = this.#hashes[slots[slot]! - 1]! & mask;
      const cutOff = hole <= slot ? home <= hole || home > slot : home <= hole && home > slot;
      if (cutOff) {
        slots[hole] = slots[slot]!;
        hole = slot;
      }
    }
    slots[hole] = 0;
    this.#lastSlot = -1;
    const length = this.#lengths[index]!;
    if (length === AS_STRING) this.#strings.delete(index);
    else this.#charsLive -= length;
    this.#unlink(index);
    this.#free[this.#freeCount++] = index;
    this.#size--;
  }

  /** Makes the entry at `index` the most recently used. */
  touch(index: number): void {
    if (index === this.#newest) return;
    this.#unlink(index);
    this.#append(index);
  }

  /**
   * Seeded FNV-1a over the group and the key's characters (two at a time),
   * then murmur3's finalizer to spread the low bits. The characters are copied to the
   * arena's free end on the way (see `#keep()`), as far as they fit there
   * and are Latin-1.
   */
  #hashAndCopy(group: number, key: string): number {
    const length = key.length;
    if (this.#charsUsed + length > this.#chars.length) this.#makeRoom(length);
    const chars = this.#chars;
    const base = this.#charsUsed;
    let wide = 0;
    let hash = this.#seed ^ Math.imul(group + 1, 0x9e3779b1);
    // Two UTF-16 units per step: half the multiplications a unit at a time would take.
    let i = 0;
    for (; i + 1 < length; i += 2) {
      const first = key.charCodeAt(i);
      const second = key.charCodeAt(i + 1);
      wide |= first | second;
      chars[base + i] = first;
      chars[base + i + 1] = second;
      hash = Math.imul(hash ^ (first | (second << 16)), 0x01000193);
    }
    if (i < length) {
      const last = key.charCodeAt(i);
      wide |= last;
      chars[base + i] = last;
      hash = Math.imul(hash ^ last, 0x01000193);
    }
    this.#lastWide = wide > 0xff;
    hash ^= length;
    hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
    return hash ^ (hash >>> 16);
  }

  /** Whether the entry at `index` holds `key`. */
  #holds(index: number, key: string): boolean {
    const length = this.#lengths[index]!;
    if (length === AS_STRING) return this.#strings.get(index) === key;
    if (length !== key.length) return false;
    const chars = this.#chars;
    const base = this.#offsets[index]!;
    for (let i = 0; i < length; i++) if (chars[base + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /**
   * Keeps `key` for `index`: its characters, which the last `find()`
   * copied to the arena's free end, or the string itself when it is not
   * Latin-1.
   */
  #keep(index: number, key: string): void {
    if (this.#lastWide) {
      this.#lengths[index] = AS_STRING;
      this.#strings.set(index, key);
      return;
    }
    const length = key.length;
    this.#lengths[index] = length;
    this.#offsets[index] = this.#charsUsed;
    this.#charsUsed += length;
    this.#charsLive += length;
  }

  /** Copies `key`'s characters to the arena's free end, as `#hashAndCopy()` does. */
  #copyToFreeEnd(key: string): void {
    const length = key.length;
    if (this.#charsUsed + length > this.#chars.length) this.#makeRoom(length);
    const chars = this.#chars;
    const base = this.#charsUsed;
    for (let i = 0; i < length; i++) chars[base + i] = key.charCodeAt(i);
  }

  /**
   * Makes room for `length` more bytes at the arena's free end: the live
   * keys are copied, oldest first (closing the gaps removed keys left),
   * into an arena at least twice as large as they and the new key need,
   * so a compaction copies at most as many bytes as were handed out since
   * the one before.
   */
  #makeRoom(length: number): void {
    this.#resizeArena(Math.max(this.#chars.length, 2 * (this.#charsLive + length)));
  }

  /**
   * Moves the keys to an arena of `bytes`. Without gaps (nothing was
   * removed since the last move) the keys keep their offsets and are
   * copied at once.
   */
  #resizeArena(bytes: number): void {
    const old = this.#chars;
    const chars = new Uint8Array(bytes);
    this.#chars = chars;
    if (this.#charsLive === this.#charsUsed) {
      chars.set(old.subarray(0, this.#charsUsed));
      return;
    }
    let used = 0;
    for (let index = this.#oldest; index !== NO_INDEX; index = this.#newer[index]!) {
      const keyLength = this.#lengths[index]!;
      if (keyLength === AS_STRING) continue;
      const from = this.#offsets[index]!;
      for (let i = 0; i < keyLength; i++) chars[used + i] = old[from + i]!;
      this.#offsets[index] = used;
      used += keyLength;
    }
    this.#charsUsed = used;
  }

  #place(index: number, hash: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let slot = hash & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = index + 1;
  }

  /** Four times the capacity, or the limit once that is less than twice as much again. */
  #nextCapacity(): number {
    const next = this.capacity * 4;
    return next * 2 > this.limit ? this.limit : next;
  }

  /** Makes room for `capacity` entries: the per-entry arrays grow, the slots are laid out again. */
  #grow(capacity: number): void {
    this.#hashes = grownInt32(this.#hashes, capacity);
    this.#groups = grownInt32(this.#groups, capacity);
    this.#lengths = grownInt32(this.#lengths, capacity);
    this.#offsets = grownInt32(this.#offsets, capacity);
    this.#older = grownInt32(this.#older, capacity);
    this.#newer = grownInt32(this.#newer, capacity);
    this.#free = grownInt32(this.#free, capacity);
    this.capacity = capacity;
    // Room for as many keys as long as the average so far, and an eighth more.
    const bytes = Math.ceil((this.#charsLive / Math.max(1, this.#size)) * capacity * 1.125);
    if (bytes > this.#chars.length) this.#resizeArena(bytes);
    // At most half full: a miss probes about two slots.
    let slotCount = 2;
    while (slotCount < capacity * 2) slotCount *= 2;
    this.#slots = new Int32Array(slotCount);
    this.#lastSlot = -1;
    this.#mask = slotCount - 1;
    for (let index = this.#oldest; index !== NO_INDEX; index = this.#newer[index]!) {
      this.#place(index, this.#hashes[index]!);
    }
  }

  #append(index: number): void {
    this.#older[index] = this.#newest;
    this.#newer[index] = NO_INDEX;
    if (this.#newest === NO_INDEX) this.#oldest = index;
    else this.#newer[this.#newest] = index;
    this.#newest = index;
  }

  #unlink(index: number): void {
    const older = this.#older[index]!;
    const newer = this.#newer[index]!;
    if (older === NO_INDEX) this.#oldest = newer;
    else this.#newer[older] = newer;
    if (newer === NO_INDEX) this.#newest = older;
    else this.#older[newer] = older;
  }
}

/** `array`'s values at the start of a new array of `length`. */
function grownInt32(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}
