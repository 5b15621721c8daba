import assert from "node:assert/strict";
import { parseGoDuration } from "../src/env/duration.ts";

// ---------------------------------------------------------------- durations

// Go's own table (src/time/time_test.go, parseDurationTests), in nanoseconds.
// Negative entries are left out: they are valid Go but rejected here.
const goDurations: [string, bigint][] = [
  ["0", 0n],
  ["5s", 5_000_000_000n],
  ["30s", 30_000_000_000n],
  ["1478s", 1_478_000_000_000n],
  ["+5s", 5_000_000_000n],
  ["-0", 0n],
  ["+0", 0n],
  ["5.0s", 5_000_000_000n],
  ["5.6s", 5_600_000_000n],
  ["5.s", 5_000_000_000n],
  [".5s", 500_000_000n],
  ["1.0s", 1_000_000_000n],
  ["1.00s", 1_000_000_000n],
  ["1.004s", 1_004_000_000n],
  ["1.0040s", 1_004_000_000n],
  ["100.00100s", 100_001_000_000n],
  ["10ns", 10n],
  ["11us", 11_000n],
  ["12\u00b5s", 12_000n],
  ["12\u03bcs", 12_000n],
  ["13ms", 13_000_000n],
  ["14s", 14_000_000_000n],
  ["15m", 900_000_000_000n],
  ["16h", 57_600_000_000_000n],
  ["3h30m", 12_600_000_000_000n],
  ["10.5s4m", 250_500_000_000n],
  ["1h2m3s4ms5us6ns", 3_723_004_005_006n],
  ["39h9m14.425s", 140_954_425_000_000n],
  ["52763797000ns", 52_763_797_000n],
  ["0.3333333333333333333h", 1_200_000_000_000n],
  ["9007199254740993ns", 9_007_199_254_740_993n],
  ["9223372036854775807ns", 9_223_372_036_854_775_807n],
  ["9223372036854775.807us", 9_223_372_036_854_775_807n],
  ["9223372036s854ms775us807ns", 9_223_372_036_854_775_807n],
  ["0.100000000000000000000h", 360_000_000_000n],
  ["0.830103483285477580700h", 2_988_372_539_827n],
  // The examples of the brief and of the time package's documentation.
  ["300ms", 300_000_000n],
  ["1.5h", 5_400_000_000_000n],
  ["1m30s", 90_000_000_000n],
  ["2h45m", 9_900_000_000_000n],
  ["1us", 1_000n],
  ["1.s", 1_000_000_000n],
];

Deno.test("parseGoDuration() matches Go's ParseDuration table", () => {
  for (const [text, nanoseconds] of goDurations) {
    assert.equal(parseGoDuration(text), Number(nanoseconds) / 1e6, text);
  }
});

Deno.test("parseGoDuration() returns milliseconds", () => {
  assert.equal(parseGoDuration("250ms"), 250);
  assert.equal(parseGoDuration("1s"), 1000);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("1us"), 0.001);
});

Deno.test("parseGoDuration() throws TypeError for what Go rejects as syntax", () => {
  // Go's parseDurationErrors, plus the forms of the brief.
  const bad = ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xffff"];
  for (
    const text of [...bad, "hello \xffff world", "5", "1x", "abc", "1.5", "1h ", "1S", "1.5.5s"]
  ) {
    assert.throws(() => parseGoDuration(text), TypeError, JSON.stringify(text));
  }
});

Deno.test("parseGoDuration() names the missing or unknown unit", () => {
  assert.throws(() => parseGoDuration("5"), {
    name: "TypeError",
    message: 'Cannot parse duration "5": missing unit, expected one of ns, us, µs, ms, s, m, h',
  });
  assert.throws(() => parseGoDuration("1x"), {
    name: "TypeError",
    message:
      'Cannot parse duration "1x": unknown unit "x", expected one of ns, us, µs, ms, s, m, h',
  });
  assert.throws(() => parseGoDuration("abc"), {
    name: "TypeError",
    message: 'Cannot parse duration "abc": expected a number with a unit, e.g. 1m30s',
  });
});

Deno.test("parseGoDuration() throws RangeError for negative durations", () => {
  assert.throws(() => parseGoDuration("-1s"), {
    name: "RangeError",
    message: 'Cannot use duration "-1s": expected 0 or more',
  });
  assert.throws(() => parseGoDuration("-2m3.4s"), RangeError);
  assert.throws(() => parseGoDuration("-9223372036854775808ns"), RangeError);
  assert.equal(parseGoDuration("-0s"), 0);
});

Deno.test("parseGoDuration() throws RangeError beyond Go's int64 nanoseconds", () => {
  for (
    const text of [
      "9223372036854775810ns",
      "9223372036854775808ns",
      "9223372036854775.808us",
      "9223372036854ms775us808ns",
      "2562048h",
    ]
  ) {
    assert.throws(() => parseGoDuration(text), RangeError, text);
  }
});
