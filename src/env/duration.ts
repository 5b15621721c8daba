/**
 * Durations in Go's `time.ParseDuration` syntax, because the same `BUS_*`
 * variables configure the Go services and must mean the same there.
 *
 * This module is browser compatible.
 *
 * @module
 */

// A Map, not an object literal: a unit such as "constructor" must not find
// Object.prototype. Both micro signs are Go's (U+00B5 and U+03BC).
const NANOSECONDS = new Map<string, number>([
  ["ns", 1],
  ["us", 1e3],
  ["\u00b5s", 1e3],
  ["\u03bcs", 1e3],
  ["ms", 1e6],
  ["s", 1e9],
  ["m", 60e9],
  ["h", 3600e9],
]);
const MAX_NANOSECONDS = 2n ** 63n - 1n; // Go's time.Duration is an int64
const FRACTION_LIMIT = MAX_NANOSECONDS / 10n;
const COMPONENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * Parses a duration in Go's `time.ParseDuration` syntax into milliseconds:
 * one or more decimal numbers, each with an optional fraction and a unit
 * among `ns`, `us` (or `µs`), `ms`, `s`, `m` and `h`, e.g. `300ms`, `1.5h`,
 * `1m30s`. A bare `0` needs no unit. The arithmetic is Go's, in whole
 * nanoseconds, so `1us` is `0.001` and every value Go accepts means the same
 * here.
 *
 * @param text The duration, e.g. `"1m30s"`.
 * @returns The duration in milliseconds, possibly fractional.
 * @throws {TypeError} When `text` is not a Go duration.
 * @throws {RangeError} When it is negative (a sign is valid Go, but a
 * negative wait means nothing here) or beyond Go's limit of about 292 years.
 *
 * @example Go's documented examples
 * ```ts
 * import { parseGoDuration } from "@bus/integration";
 * parseGoDuration("1m30s"); // 90000
 * parseGoDuration("1.5h"); // 5400000
 * ```
 */
export function parseGoDuration(text: string): number {
  let rest = text;
  const sign = rest[0];
  if (sign === "-" || sign === "+") rest = rest.slice(1);
  if (rest === "0") return 0;
  if (rest === "") throw durationSyntaxError(text, "expected a number with a unit, e.g. 1m30s");
  let total = 0n;
  while (rest !== "") {
    const [component = "", whole = "", fraction, unit = ""] = COMPONENT.exec(rest) ?? [];
    if (whole === "" && !fraction) {
      throw durationSyntaxError(text, "expected a number with a unit, e.g. 1m30s");
    }
    const unitNanoseconds = NANOSECONDS.get(unit);
    if (unitNanoseconds === undefined) {
      throw durationSyntaxError(
        text,
        `${unit === "" ? "missing unit" : `unknown unit ${JSON.stringify(unit)}`}, ` +
          "expected one of ns, us, µs, ms, s, m, h",
      );
    }
    total += BigInt(whole || "0") * BigInt(unitNanoseconds) +
      fractionNanoseconds(fraction ?? "", unitNanoseconds);
    rest = rest.slice(component.length);
  }
  if (sign === "-" && total !== 0n) {
    throw new RangeError(`Cannot use duration ${JSON.stringify(text)}: expected 0 or more`);
  }
  if (total > MAX_NANOSECONDS) {
    throw new RangeError(
      `Cannot use duration ${JSON.stringify(text)}: expected at most 2562047h47m16.854775807s`,
    );
  }
  return Number(total) / 1e6;
}

/**
 * Go's `leadingFraction` and its float step, so rounding matches Go to the
 * nanosecond: digits past the int64 range are ignored, and the product is
 * truncated.
 */
function fractionNanoseconds(digits: string, unitNanoseconds: number): bigint {
  let value = 0n;
  let scale = 1;
  for (const digit of digits) {
    const next = value * 10n + BigInt(digit);
    if (value > FRACTION_LIMIT || next > MAX_NANOSECONDS + 1n) break;
    value = next;
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(value) * (unitNanoseconds / scale)));
}

function durationSyntaxError(text: string, expected: string): TypeError {
  return new TypeError(`Cannot parse duration ${JSON.stringify(text)}: ${expected}`);
}
