import assert from "node:assert/strict";
import { parseScaleArgs, UsageError } from "../bench/scale_args.ts";
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
const SMALL = ["--samples", "20", "--rounds", "1", "--idle-seconds", "0.2", "--pending", "20"];

/** Runs bench/scale.ts with `args`; resolves with its exit code, stdout and stderr. */
async function runBench(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, "bench/scale.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Checks the last line's shape: every field the issue names, with a value of its type. */
function assertResultLine(stdout: string, transport: string, listeners: number) {
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
    "pendingHeapBytesPerRequest",
    "serverRssKiBPerListener",
  ];
  // The fields first, in its order, then the extras.
  assert.deepEqual(Object.keys(result), ["runtime", "transport", "listeners", ...numbers]);
  assert.equal(result.runtime, "deno");
  assert.equal(result.transport, transport);
  assert.equal(result.listeners, listeners);
  for (const key of numbers) assert.equal(typeof result[key], "number", `${key}: ${result[key]}`);
  assert.ok(result.openSeconds > 0, "all listeners opened, in some time");
  assert.ok(result.publishP99Ratio > 0 && result.idleCpuPercent >= 0);
}

Deno.test("bench/scale.ts opens 20 listeners over HTTP and ends with one JSON line of every figure", async () => {
  const run = await runBench(["--listeners", "20", ...SMALL]);
  assert.equal(run.code, 0, run.stderr);
  assertResultLine(run.stdout, "http", 20);
});

natsTest(
  "bench/scale.ts opens 20 listeners over NATS and ends with one JSON line of every figure",
  async () => {
    const run = await runBench(["--listeners", "20", "--transport", "nats", ...SMALL]);
    assert.equal(run.code, 0, run.stderr);
    assertResultLine(run.stdout, "nats", 20);
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
    rounds: 3,
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
