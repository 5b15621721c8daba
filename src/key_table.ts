/**
 * A bounded table of string keys kept in typed arrays, in least recently
 * used order: what `MemoryIdempotencyStore` indexes its keys with. A key of
 * Latin-1 characters (UUIDs, ULIDs, hex digests: nearly every idempotency
 * key) is copied into an arena of 32-bit words, four characters to a
 * word, so the table keeps no string and no object per key on the
 * JavaScript heap, and a garbage collection has nothing of it to copy or
 * trace (a `Map` that only kept 20,000 fresh keys
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
/**
 * Entries the slots are laid out for at first, however few there are: a
 * table of up to this many never lays its slots out again (re-placing
 * every entry at a growth cost a fresh 20,000-key store about 80 ns a key
 * in the worker benchmark, each placement a cache miss), for 256 KiB of
 * slots at most before the first growth past it.
 */
const FIRST_SLOT_ENTRIES = 1 << 16;
/** Words of the arena per entry at first (a UUID has 36 characters: 9 words). */
const FIRST_WORDS_PER_ENTRY = 10;
/** The `LENGTH` of a key kept in `#strings`. */
const AS_STRING = -1;
/**
 * Bits of a slot that say how far it is from its entry's home slot: up to
 * 14 exactly, 15 for that far or farther. Linear probing keeps all but a
 * few entries within 14: 3 % of them at four fifths full, 0.2–0.3 % at the
 * three fifths a default store fills its slots to.
 */
const DISTANCE_BITS = 4;
/** Words of an entry's record, and where each field is in it. */
const RECORD = 6;
const HASH = 0;
const GROUP = 1;
/** The key's length, or {@linkcode AS_STRING} when it is kept in `#strings`. */
const LENGTH = 2;
/** The word of `#words` the key's characters start at. */
const OFFSET = 3;
/** Its neighbours in recency order. */
const OLDER = 4;
const NEWER = 5;

/**
 * Keys of at most `limit` entries, each under a small integer `group` (the
 * idempotency store's scope-and-name prefix) and found by its characters.
 * An entry has an index in `[0, capacity)`, stable while it is in the
 * table, by which callers keep their own per-entry arrays. Open addressing
 * with linear probing over a seeded hash, at most four fifths full (the
 * slots' tags make a long probe run cheap); removal shifts
 * the rest of the probe run back, so no tombstones build up.
 */
export class KeyTable {
  /** Most entries. */
  readonly limit: number;
  /** Every index is below this; it grows fourfold up to `limit`. */
  capacity = 0;
  #size = 0;
  /**
   * Slot → entry index + 1 in the low `#indexBits`; above them how far the
   * slot is from the entry's home slot (in {@linkcode DISTANCE_BITS}, when
   * the slot has room for them); above that the high bits of the entry's
   * hash as a tag; 0 is an empty slot. A probe passes over another key's
   * slot by its tag, and a removal finds the home slot of each entry it
   * shifts back by its distance, neither reading that entry's record (a
   * cache miss of its own in a table larger than the cache).
   */
  #slots = new Int32Array(0);
  #mask = 0;
  /** Bits of a slot that hold the index + 1: enough for `limit`. */
  readonly #indexBits: number;
  /** `#indexBits` ones. */
  readonly #indexMask: number;
  /**
   * The largest distance a slot holds; it also stands for any farther one
   * (whose home slot is then read from the entry's record). 0 when the
   * slots have no room for distances.
   */
  readonly #farthest: number;
  /** The bits of a slot, and of a hash, that are its tag. */
  readonly #tagMask: number;
  /**
   * Per entry, by its index, one record of {@linkcode RECORD} words
   * together (`HASH`, `GROUP`, `LENGTH`, `OFFSET`, `OLDER`, `NEWER`): an
   * insertion writes one record, not six arrays, so a worker busy with
   * everything else between two claims misses the cache once for it.
   */
  #records = new Int32Array(0);
  /**
   * The keys' characters, four to a 32-bit word (the first in the low
   * byte; a key's last word padded with zeros), each key from a word of
   * its own, one after another; removed keys leave gaps until the next
   * compaction. A word a store: a quarter of the typed-array writes a byte
   * a store would take.
   */
  #words = new Int32Array(0);
  /** Words of `#words` handed out, and of those the ones live keys hold. */
  #wordsUsed = 0;
  #wordsLive = 0;
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
    this.#indexBits = 32 - Math.clz32(limit);
    this.#indexMask = 2 ** this.#indexBits - 1;
    // Distances only where at least as many bits are left for the tag.
    const distanceBits = 32 - this.#indexBits >= 2 * DISTANCE_BITS ? DISTANCE_BITS : 0;
    this.#farthest = (1 << distanceBits) - 1;
    const tagShift = this.#indexBits + distanceBits;
    this.#tagMask = tagShift >= 32 ? 0 : -1 << tagShift;
    this.#words = new Int32Array(Math.min(limit, FIRST_CAPACITY) * FIRST_WORDS_PER_ENTRY);
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
    const tagMask = this.#tagMask;
    const tag = hash & tagMask;
    for (let slot = hash & mask;; slot = (slot + 1) & mask) {
      const stored = slots[slot]!;
      if (stored === 0) {
        this.#lastSlot = slot;
        return NO_INDEX;
      }
      if ((stored & tagMask) !== tag) continue;
      const index = (stored & this.#indexMask) - 1;
      if (
        this.#records[index * RECORD + HASH] === hash &&
        this.#records[index * RECORD + GROUP] === group &&
        this.#holds(index, key, this.#lastWide)
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
    this.#records[index * RECORD + HASH] = hash;
    this.#records[index * RECORD + GROUP] = group;
    this.#keep(index, key);
    const slot = this.#lastSlot;
    if (slot >= 0) this.#slots[slot] = this.#slotOf(index, hash, slot);
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
    const indexMask = this.#indexMask;
    let hole = this.#records[index * RECORD + HASH]! & mask;
    while ((slots[hole]! & indexMask) !== index + 1) hole = (hole + 1) & mask;
    // Move back each later entry of the probe run whose home slot the hole now cuts it off from.
    for (let slot = (hole + 1) & mask; slots[slot] !== 0; slot = (slot + 1) & mask) {
      const stored = slots[slot]!;
      const home = this.#homeOf(stored, slot);
      const cutOff = hole <= slot ? home <= hole || home > slot : home <= hole && home > slot;
      if (cutOff) {
        slots[hole] = this.#withDistance(stored, (hole - home) & mask);
        hole = slot;
      }
    }
    slots[hole] = 0;
    this.#lastSlot = -1;
    const length = this.#records[index * RECORD + LENGTH]!;
    if (length === AS_STRING) this.#strings.delete(index);
    else this.#wordsLive -= wordsOf(length);
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
   * Seeded murmur3 (32-bit) over the group and the key's characters, four
   * to a word, as `#words` keeps them. The words are copied to the arena's
   * free end on the way (see `#keep()`). A key beyond Latin-1 is kept as a
   * string; its words, which then mix neighbouring characters' bits, serve
   * only for its hash.
   */
  #hashAndCopy(group: number, key: string): number {
    const length = key.length;
    const needed = wordsOf(length);
    if (this.#wordsUsed + needed > this.#words.length) this.#makeRoom(needed);
    const words = this.#words;
    let at = this.#wordsUsed;
    let wide = 0;
    let hash = this.#seed ^ Math.imul(group + 1, 0x9e3779b1);
    let i = 0;
    for (; i + 3 < length; i += 4) {
      const a = key.charCodeAt(i);
      const b = key.charCodeAt(i + 1);
      const c = key.charCodeAt(i + 2);
      const d = key.charCodeAt(i + 3);
      wide |= a | b | c | d;
      const word = a | (b << 8) | (c << 16) | (d << 24);
      words[at++] = word;
      hash = mix(hash, word);
    }
    if (i < length) {
      let word = 0;
      for (let shift = 0; i < length; i++, shift += 8) {
        const unit = key.charCodeAt(i);
        wide |= unit;
        word |= unit << shift;
      }
      words[at] = word;
      hash = mix(hash, word);
    }
    this.#lastWide = wide > 0xff;
    hash ^= length;
    hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
    return hash ^ (hash >>> 16);
  }

  /** Whether the entry at `index` holds `key`, of which `wide` says whether it is beyond Latin-1. */
  #holds(index: number, key: string, wide: boolean): boolean {
    const length = this.#records[index * RECORD + LENGTH]!;
    if (length === AS_STRING) return this.#strings.get(index) === key;
    // A wide key's words could equal a Latin-1 key's; it is never kept in them.
    if (wide || length !== key.length) return false;
    const words = this.#words;
    let at = this.#records[index * RECORD + OFFSET]!;
    let i = 0;
    for (; i + 3 < length; i += 4) {
      const word = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) |
        (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24);
      if (words[at++] !== word) return false;
    }
    if (i === length) return true;
    let last = 0;
    for (let shift = 0; i < length; i++, shift += 8) last |= key.charCodeAt(i) << shift;
    return words[at] === last;
  }

  /**
   * Keeps `key` for `index`: its words, which the last `find()` copied to
   * the arena's free end, or the string itself when it is not Latin-1.
   */
  #keep(index: number, key: string): void {
    if (this.#lastWide) {
      this.#records[index * RECORD + LENGTH] = AS_STRING;
      this.#strings.set(index, key);
      return;
    }
    const length = key.length;
    this.#records[index * RECORD + LENGTH] = length;
    this.#records[index * RECORD + OFFSET] = this.#wordsUsed;
    this.#wordsUsed += wordsOf(length);
    this.#wordsLive += wordsOf(length);
  }

  /** Copies `key`'s words to the arena's free end, as `#hashAndCopy()` does. */
  #copyToFreeEnd(key: string): void {
    const length = key.length;
    const needed = wordsOf(length);
    if (this.#wordsUsed + needed > this.#words.length) this.#makeRoom(needed);
    const words = this.#words;
    const base = this.#wordsUsed;
    words.fill(0, base, base + needed);
    for (let i = 0; i < length; i++) words[base + (i >> 2)]! |= key.charCodeAt(i) << ((i & 3) * 8);
  }

  /**
   * Makes room for `needed` more words at the arena's free end: the live
   * keys are copied, oldest first (closing the gaps removed keys left),
   * into an arena at least twice as large as they and the new key need,
   * so a compaction copies at most as many words as were handed out since
   * the one before.
   */
  #makeRoom(needed: number): void {
    this.#resizeArena(Math.max(this.#words.length, 2 * (this.#wordsLive + needed)));
  }

  /**
   * Moves the keys to an arena of `size` words. Without gaps (nothing was
   * removed since the last move) the keys keep their offsets and are
   * copied at once.
   */
  #resizeArena(size: number): void {
    const old = this.#words;
    const words = new Int32Array(size);
    this.#words = words;
    if (this.#wordsLive === this.#wordsUsed) {
      words.set(old.subarray(0, this.#wordsUsed));
      return;
    }
    let used = 0;
    for (
      let index = this.#oldest;
      index !== NO_INDEX;
      index = this.#records[index * RECORD + NEWER]!
    ) {
      const keyLength = this.#records[index * RECORD + LENGTH]!;
      if (keyLength === AS_STRING) continue;
      const from = this.#records[index * RECORD + OFFSET]!;
      const count = wordsOf(keyLength);
      words.set(old.subarray(from, from + count), used);
      this.#records[index * RECORD + OFFSET] = used;
      used += count;
    }
    this.#wordsUsed = used;
  }

  #place(index: number, hash: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let slot = hash & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = this.#slotOf(index, hash, slot);
  }

  /** What `slot` stores when it holds the entry at `index`, of `hash`. */
  #slotOf(index: number, hash: number, slot: number): number {
    const distance = Math.min((slot - hash) & this.#mask, this.#farthest);
    return (hash & this.#tagMask) | (distance << this.#indexBits) | (index + 1);
  }

  /** The home slot of the entry that `slot` holds, as `stored`. */
  #homeOf(stored: number, slot: number): number {
    const distance = (stored >>> this.#indexBits) & this.#farthest;
    if (distance < this.#farthest) return (slot - distance) & this.#mask;
    return this.#records[((stored & this.#indexMask) - 1) * RECORD + HASH]! & this.#mask;
  }

  /** `stored`, moved to a slot `distance` from its home. */
  #withDistance(stored: number, distance: number): number {
    const field = this.#farthest << this.#indexBits;
    return (stored & ~field) | (Math.min(distance, this.#farthest) << this.#indexBits);
  }

  /** Four times the capacity, or the limit once that is less than twice as much again. */
  #nextCapacity(): number {
    const next = this.capacity * 4;
    return next * 2 > this.limit ? this.limit : next;
  }

  /** Makes room for `capacity` entries: the per-entry arrays grow, the slots are laid out again. */
  #grow(capacity: number): void {
    this.#records = grownInt32(this.#records, capacity * RECORD);
    this.#free = grownInt32(this.#free, capacity);
    this.capacity = capacity;
    // Room for as many keys as long as the average so far, and an eighth more.
    const size = Math.ceil((this.#wordsLive / Math.max(1, this.#size)) * capacity * 1.125);
    if (size > this.#words.length) this.#resizeArena(size);
    // At most four fifths full. A miss probes about 13 slots at worst, most
    // of them in the same cache line and passed over by their tags; a
    // sparser table measured slower in the worker benchmark, its slots
    // missing the cache more often than their probes cost.
    let slotCount = 2;
    const slotEntries = Math.max(capacity, Math.min(this.limit, FIRST_SLOT_ENTRIES));
    while (slotCount < slotEntries * 1.25) slotCount *= 2;
    if (slotCount === this.#slots.length) return;
    this.#slots = new Int32Array(slotCount);
    this.#lastSlot = -1;
    this.#mask = slotCount - 1;
    for (
      let index = this.#oldest;
      index !== NO_INDEX;
      index = this.#records[index * RECORD + NEWER]!
    ) {
      this.#place(index, this.#records[index * RECORD + HASH]!);
    }
  }

  #append(index: number): void {
    this.#records[index * RECORD + OLDER] = this.#newest;
    this.#records[index * RECORD + NEWER] = NO_INDEX;
    if (this.#newest === NO_INDEX) this.#oldest = index;
    else this.#records[this.#newest * RECORD + NEWER] = index;
    this.#newest = index;
  }

  #unlink(index: number): void {
    const older = this.#records[index * RECORD + OLDER]!;
    const newer = this.#records[index * RECORD + NEWER]!;
    if (older === NO_INDEX) this.#oldest = newer;
    else this.#records[older * RECORD + NEWER] = newer;
    if (newer === NO_INDEX) this.#newest = older;
    else this.#records[newer * RECORD + OLDER] = older;
  }
}

/** `array`'s values at the start of a new array of `length`. */
function grownInt32(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}

/** The words of `#words` a key of `length` characters takes. */
function wordsOf(length: number): number {
  return (length + 3) >> 2;
}

/** One step of murmur3 (32-bit): mixes the 32-bit `word` into `hash`. */
function mix(hash: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  const h = hash ^ k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
}
