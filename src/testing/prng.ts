/**
 * A seeded pseudo-random generator for reproducible test inputs and bench
 * corpora: the same seed yields the same sequence on every runtime.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Returns a mulberry32 generator seeded with `seed`: each call yields the
 * next number in `[0, 1)`, like `Math.random`. Not for anything secret.
 *
 * @param seed Any number; only its low 32 bits matter.
 * @returns The generator.
 *
 * @example The same seed repeats the sequence
 * ```ts
 * import { prng } from "./prng.ts";
 *
 * const a = prng(42);
 * const b = prng(42);
 * console.log(a() === b()); // true
 * ```
 */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
