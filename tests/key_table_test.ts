/**
 * KeyTable: keys are found by group and characters, removal keeps every
 * other key findable (the probe runs shift back), the recency order is a
 * least-recently-used list, keys beyond Latin-1 and an arena with gaps
 * work, and (fast-check) any sequence of operations agrees with a `Map`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyTable, NO_INDEX } from "../src/key_table.ts";

/** Adds `key` under `group` the way callers must: a `find()` that misses, then `insert()`. */
function add(table: KeyTable, group: number, key: string): number {
  assert.equal(table.find(group, key), NO_INDEX, `${key} is new`);
  return table.insert(group, key);
}

/** The keys from the least to the most recently used, read by following `oldest` through removals. */
function recency(table: KeyTable, keys: ReadonlyMap<number, string>): string[] {
  const copy = new Map(keys);
  const order: string[] = [];
  while (table.oldest !== NO_INDEX) {
    const index = table.oldest;
    order.push(copy.get(index)!);
    table.remove(index);
    copy.delete(index);
  }
  return order;
}

Deno.test("KeyTable.find() finds a key under its own group only", () => {
  const table = new KeyTable(10);
  const a = add(table, 0, "key");
  const b = add(table, 1, "key");
  assert.notEqual(a, b);
  assert.equal(table.find(0, "key"), a);
  assert.equal(table.find(1, "key"), b);
  assert.equal(table.find(2, "key"), NO_INDEX);
  assert.equal(table.find(0, "kez"), NO_INDEX);
  assert.equal(table.find(0, "ke"), NO_INDEX);
  assert.equal(table.size, 2);
});

Deno.test("KeyTable keeps keys beyond Latin-1, Latin-1 ones above 0x7f and long ones", () => {
  const table = new KeyTable(10);
  const keys = ["café", "ключ", "🔑", "x".repeat(5_000), "", "\u00ff\u0100"];
  const indices = keys.map((key) => add(table, 0, key));
  keys.forEach((key, i) => assert.equal(table.find(0, key), indices[i], key.slice(0, 10)));
  assert.equal(table.find(0, "cafe"), NO_INDEX);
  assert.equal(table.find(0, "\u00ff\u00ff"), NO_INDEX);
  table.remove(indices[1]!);
  assert.equal(table.find(0, "ключ"), NO_INDEX);
  assert.equal(table.find(0, "🔑"), indices[2]);
});

Deno.test("KeyTable tells a key beyond Latin-1 from the Latin-1 key its packed words equal", () => {
  const table = new KeyTable(10);
  // Four characters to a word, a byte each: U+0100 then U+0000 packs as 0x0100, as U+0000 then U+0001 does.
  const latin = add(table, 0, "\u0000\u0001");
  assert.equal(table.find(0, "\u0100\u0000"), NO_INDEX);
  const wide = add(table, 0, "\u0100\u0000");
  assert.notEqual(wide, latin);
  assert.equal(table.find(0, "\u0000\u0001"), latin);
  assert.equal(table.find(0, "\u0100\u0000"), wide);
  // Lengths on each side of a word's end: every tail length.
  const tails = ["a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghi"];
  const tailIndices = tails.map((key) => add(table, 1, key));
  tails.forEach((key, i) => assert.equal(table.find(1, key), tailIndices[i], key));
  assert.equal(table.find(1, "abcdefgj"), NO_INDEX);
  assert.equal(table.find(1, "abcdefghj"), NO_INDEX);
});

Deno.test("KeyTable.remove() leaves every other key findable when their probe runs collide", () => {
  // 8 slots for up to 4 keys: most of them share probe runs.
  const table = new KeyTable(4);
  const indices = new Map<string, number>();
  for (let round = 0; round < 200; round++) {
    const key = `k${round}`;
    if (table.size === 4) {
      const [oldest] = [...indices];
      table.remove(oldest![1]);
      indices.delete(oldest![0]);
    }
    indices.set(key, add(table, round % 3, key));
    for (const [other, index] of indices) {
      assert.equal(table.find(Number(other.slice(1)) % 3, other), index, `${other} at ${round}`);
    }
  }
});

Deno.test("KeyTable.remove() keeps every key findable in a table four fifths full, where probe runs are long", () => {
  // 65,536 slots at four fifths full: many entries sit 15 or more slots
  // from home, farther than a slot's distance field says exactly, so a
  // removal shifting them back reads their home from the record.
  const limit = 52_428;
  const table = new KeyTable(limit);
  const key = (i: number) => `key-${i}`;
  for (let i = 0; i < limit; i++) add(table, 0, key(i));
  for (let i = 0; i < limit; i += 3) table.remove(table.find(0, key(i)));
  for (let i = 0; i < limit; i++) {
    assert.equal(table.find(0, key(i)) === NO_INDEX, i % 3 === 0, key(i));
  }
  // Refilled, every key is there again.
  for (let i = 0; i < limit; i += 3) add(table, 0, key(i));
  for (let i = 0; i < limit; i++) assert.notEqual(table.find(0, key(i)), NO_INDEX, key(i));
});

Deno.test("KeyTable orders entries from the least recently used, touch() making one the newest", () => {
  const table = new KeyTable(10);
  const keys = new Map<number, string>();
  for (const key of ["a", "b", "c", "d"]) keys.set(add(table, 0, key), key);
  table.touch(table.find(0, "b"));
  table.touch(table.find(0, "a"));
  table.touch(table.find(0, "a")); // already the newest
  assert.deepEqual(recency(table, keys), ["c", "d", "b", "a"]);
  assert.equal(table.size, 0);
});

Deno.test("KeyTable grows to its limit and reuses removed indices below it", () => {
  const table = new KeyTable(3_000);
  for (let i = 0; i < 3_000; i++) add(table, 0, `key-${i}`);
  assert.equal(table.capacity, 3_000);
  for (let i = 0; i < 3_000; i++) assert.notEqual(table.find(0, `key-${i}`), NO_INDEX);
  // Removing and adding keys of other lengths compacts the arena; nothing is lost.
  for (let i = 0; i < 3_000; i += 2) table.remove(table.find(0, `key-${i}`));
  for (let i = 0; i < 1_500; i++) {
    assert.ok(add(table, 1, `longer-key-${i}-${"y".repeat(i % 40)}`) < 3_000);
  }
  assert.equal(table.size, 3_000);
  for (let i = 1; i < 3_000; i += 2) assert.notEqual(table.find(0, `key-${i}`), NO_INDEX, `${i}`);
  for (let i = 0; i < 1_500; i++) {
    assert.notEqual(table.find(1, `longer-key-${i}-${"y".repeat(i % 40)}`), NO_INDEX);
  }
});

Deno.test("KeyTable() rejects a limit that is not an integer >= 1", () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new KeyTable(limit), RangeError, String(limit));
  }
});

/** Runs random operations on tables of `limits` and checks them against a `Map`. */
function agreesWithMap(
  limits: fc.Arbitrary<number>,
  operations: { minLength: number; maxLength: number },
  numRuns: number,
  addWeight = 1,
) {
  // Short keys collide in small tables; long ones make the arena move as it fills.
  const key = fc.tuple(
    fc.constantFrom("", "", "0123456789abcdef-0123456789abcdef-"),
    fc.string({ unit: fc.constantFrom("a", "b", "é", "Ж", "\u0000"), maxLength: 6 }),
  ).map(([prefix, rest]) => prefix + rest);
  const operation = fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant("add" as const), group: fc.nat(2), key }),
      weight: addWeight,
    },
    fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("touch" as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(limits, fc.array(operation, operations), (
      limit,
      operations,
    ) => {
      const table = new KeyTable(limit);
      // By "group:key", in recency order (a touch moves a key to the end).
      const model = new Map<string, number>();
      const indices = new Map<number, string>();
      for (const step of operations) {
        if (step.kind === "add") {
          const name = `${step.group}:${step.key}`;
          const found = table.find(step.group, step.key);
          assert.equal(found, model.get(name) ?? NO_INDEX);
          if (found !== NO_INDEX || table.size === limit) continue;
          const index = table.insert(step.group, step.key);
          assert.ok(index >= 0 && index < limit && !indices.has(index));
          model.set(name, index);
          indices.set(index, name);
        } else if (model.size > 0) {
          const [name, index] = [...model][step.pick % model.size]!;
          model.delete(name);
          if (step.kind === "touch") {
            table.touch(index);
            model.set(name, index);
          } else {
            table.remove(index);
            indices.delete(index);
          }
        }
        assert.equal(table.size, model.size);
      }
      for (const [name, index] of model) {
        const group = Number(name.slice(0, name.indexOf(":")));
        assert.equal(table.find(group, name.slice(name.indexOf(":") + 1)), index);
      }
      assert.deepEqual(recency(table, indices), [...model.keys()]);
    }),
    { numRuns },
  );
}

Deno.test("KeyTable agrees with a Map on any sequence of adds, removes and touches", () => {
  agreesWithMap(fc.integer({ min: 1, max: 12 }), { minLength: 0, maxLength: 200 }, 300);
});

Deno.test("KeyTable agrees with a Map while it grows and compacts its arena", () => {
  // Past the first 256 entries, with removals leaving gaps in the arena.
  agreesWithMap(
    fc.constantFrom(257, 700, 1_100),
    { minLength: 1_000, maxLength: 3_000 },
    20,
    6,
  );
});
