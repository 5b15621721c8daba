import assert from "node:assert/strict";
import { parseScaleArgs, UsageError } from "../bench/scale_args.ts";
import { bootstrapRatioInterval, percentile } from "../bench/scale_probe.ts";
import { baseEnv, runDeno } from "./_child.ts";
import { natsTest } from "./_nats_server.ts";

const PERMISSIONS = [
  "--allow-net=127.0.0.1",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run=deno,nats-server,ps",
  "--allow-sys",
  "--v8-flags=--expose-gc",
];
/** The smallest run that still measures everything once. */
const SMALL = [
  ...["--samples", "20", "--rounds", "2", "--warm-up-rounds", "1"],
  ...["--idle-seconds", "0.2", "--pending", "20"],
];
const SMALL_SAMPLING = { rounds: 2, samples: 20 };

/** Runs bench/scale.ts with `args`; resolves with its exit code, stdout and stderr. */
function runBench(args: string[]) {
  return runDeno(["run", ...PERMISSIONS, "bench/scale.ts", ...args], baseEnv());
}

/**
 * Checks the last line's shape: every field the issue names, with a value of
 * its type, then the spread of the p99 ratio: a `[low, high]` bootstrap
 * interval and one ratio per pair of rounds.
 */
function assertResultLine(
  stdout: string,
  transport: string,
  listeners: number,
  { rounds, samples }: { rounds: number; samples: number },
) {
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
  const numbers = [
    "rssKiBPerListener",
    "heapKiBPerListener",
    "openSeconds",
    "publishP99Ratio",
    "idleCpuPercent",
    "publishP50Ratio",
    "floorRssKiBPerListener",
    "floorHeapKiBPerListener",
    "floorIdleCpuPercent",
    "pendingHeapBytesPerRequest",
    "serverRssKiBPerListener",
  ];
  const spread = [
    "publishP99RatioInterval",
    "publishP99RatioRounds",
    "publishSamples",
    "publishCpuRatio",
  ];
  // The fields first, in its order, then the extras.
  assert.deepEqual(Object.keys(result), [
    "runtime",
    "transport",
    "listeners",
    ...numbers,
    ...spread,
  ]);
  assert.equal(result.runtime, "deno");
  assert.equal(result.transport, transport);
  assert.equal(result.listeners, listeners);
  for (const key of numbers) assert.equal(typeof result[key], "number", `${key}: ${result[key]}`);
  assert.ok(result.openSeconds > 0, "all listeners opened, in some time");
  assert.ok(result.publishP99Ratio > 0 && result.idleCpuPercent >= 0);
  assert.ok(result.floorIdleCpuPercent >= 0, `floor idle CPU: ${result.floorIdleCpuPercent}`);
  const [low, high] = result.publishP99RatioInterval;
  assert.ok(low > 0 && low <= high, `interval ${low}–${high}`);
  assert.equal(result.publishP99RatioRounds.length, rounds);
  for (const ratio of result.publishP99RatioRounds) assert.ok(ratio > 0, String(ratio));
  assert.equal(result.publishSamples, rounds * samples, "every round's samples pooled");
  assert.ok(result.publishCpuRatio > 0, `CPU per publish N/1: ${result.publishCpuRatio}`);
}

Deno.test("bench/scale.ts opens 20 listeners over HTTP and ends with one JSON line of every figure", async () => {
  const run = await runBench(["--listeners", "20", ...SMALL]);
  assert.equal(run.code, 0, run.stderr);
  assertResultLine(run.stdout, "http", 20, SMALL_SAMPLING);
});

natsTest(
  "bench/scale.ts opens 20 listeners over NATS and ends with one JSON line of every figure",
  async () => {
    const run = await runBench(["--listeners", "20", "--transport", "nats", ...SMALL]);
    assert.equal(run.code, 0, run.stderr);
    assertResultLine(run.stdout, "nats", 20, SMALL_SAMPLING);
  },
);

Deno.test("bench/scale.ts exits 2 naming the flag when a flag is bad", async () => {
  const run = await runBench(["--listeners", "0"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Cannot use --listeners: current value is 0, expected an integer >= 1/);
});

Deno.test("parseScaleArgs() fills in every default when given nothing", () => {
  assert.deepEqual(parseScaleArgs([]), {
    listeners: 1000,
    transport: "http",
    samples: 500,
    rounds: 32,
    warmUpRounds: 4,
    idleSeconds: 5,
    pending: 5000,
    openTimeout: 60,
  });
});

Deno.test("parseScaleArgs() reads every flag", () => {
  const settings = parseScaleArgs([
    "--listeners",
    "7",
    "--transport",
    "nats",
    "--samples",
    "9",
    "--rounds",
    "2",
    "--warm-up-rounds",
    "0",
    "--idle-seconds",
    "0.5",
    "--pending",
    "11",
    "--open-timeout",
    "3",
  ]);
  assert.deepEqual(settings, {
    listeners: 7,
    transport: "nats",
    samples: 9,
    rounds: 2,
    warmUpRounds: 0,
    idleSeconds: 0.5,
    pending: 11,
    openTimeout: 3,
  });
});

Deno.test("parseScaleArgs() throws UsageError for an unknown flag, a missing value, a bad number or transport", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus", "1"], /Cannot read --bogus: expected one of --transport, --listeners/],
    [["--listeners"], /Cannot read --listeners: it has no value/],
    [["--listeners", "1.5"], /expected an integer >= 1/],
    [["--listeners", "many"], /current value is many/],
    [["--samples", "-1"], /Cannot use --samples/],
    [["--rounds", "0"], /Cannot use --rounds/],
    [["--warm-up-rounds", "-1"], /Cannot use --warm-up-rounds: current value is -1/],
    [["--warm-up-rounds", "0.5"], /expected an integer >= 0/],
    [["--idle-seconds", "0"], /expected a number >= 0.1/],
    [["--open-timeout", "NaN"], /Cannot use --open-timeout/],
    [["--pending", ""], /Cannot use --pending/],
    [["--transport", "ws"], /Cannot use --transport: current value is ws, expected http or nats/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseScaleArgs(args), (error) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
      return true;
    }, args.join(" "));
  }
});

Deno.test("bootstrapRatioInterval() brackets the p99 ratio of rounds of samples, and is NaN without rounds", () => {
  // 10 rounds of 100 latencies against the same scaled by 1.5: a pooled p99 ratio of 1.5.
  const base = Array.from(
    { length: 10 },
    (_, round) => Array.from({ length: 100 }, (_, i) => 1 + ((i * 37 + round * 11) % 100)),
  );
  const slower = base.map((latencies) => latencies.map((value) => value * 1.5));
  assert.equal(percentile(slower.flat(), 0.99) / percentile(base.flat(), 0.99), 1.5);
  const [low, high] = bootstrapRatioInterval(slower, base, 0.99);
  // The same rounds are drawn on both sides, so a uniform slowdown shows exactly.
  assert.deepEqual([low, high], [1.5, 1.5]);
  // One spoiled round on one side: the point ratio moves and the interval widens over it.
  const spoiled = slower.map((latencies, i) => i === 3 ? latencies.map((v) => v * 4) : latencies);
  const point = percentile(spoiled.flat(), 0.99) / percentile(base.flat(), 0.99);
  const [wideLow, wideHigh] = bootstrapRatioInterval(spoiled, base, 0.99);
  assert.ok(wideLow <= 1.5 && point <= wideHigh && wideHigh > 1.5, `${wideLow}–${wideHigh}`);
  // Seeded: the same samples give the same interval.
  assert.deepEqual(bootstrapRatioInterval(spoiled, base, 0.99), [wideLow, wideHigh]);
  assert.deepEqual(bootstrapRatioInterval([], base, 0.99), [NaN, NaN]);
});

Deno.test("bench/scale_floor.ts exits 2 with its usage for a bad listener count, idle time or publish count", async () => {
  for (const args of [["5", "1", "-1"], ["5", "1", "2.5"], ["0"], ["5", "0"]]) {
    const output = await runDeno(
      ["run", ...PERMISSIONS, "bench/scale_floor.ts", "http://127.0.0.1:1", ...args],
      baseEnv(),
    );
    assert.equal(output.code, 2, args.join(" "));
    assert.match(output.stderr, /\[publishes >= 0\]/);
  }
});
