/**
 * Two checkouts of the library read against each other in one process:
 * each loads as a module graph of its own (its own functions, optimized
 * apart), and their workers read the keyed corpus of
 * `bench/worker_corpus.ts` in turn, served by this checkout's reference
 * server, in pairs whose order alternates. It prints the median read of
 * each and the median of the pairs' ratios (A's time / B's) with their
 * quartiles; its last line is one JSON object.
 *
 * One process shares the machine's drift between both sides of every
 * pair, which alternating processes do not: a change of 1–2 % that runs
 * of `deno task bench:reliable` minutes apart cannot tell from noise shows
 * here. Give it two copies other than this checkout (`git worktree add`,
 * or `cp -r`): a copy that also serves the corpus shares its hot functions
 * with the server and read 1.7 % faster than an identical one, where two
 * copies apart from the server read within 0.6 % of each other. Run it
 * again with the two swapped; a change is what both orders agree on.
 *
 * Run (from this checkout): deno run -A bench/compare_checkouts.ts DIR_A DIR_B
 * [all | idempotency | baseline] [pairs (default 40)]
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on stdout
import type * as Library from "../mod.ts";
import { EVENTS, readThrough, reliableOptions, serveCorpora } from "./worker_corpus.ts";
import { percentile } from "./scale_probe.ts";

const CONFIGURATIONS = ["all", "idempotency", "baseline"] as const;
type Configuration = typeof CONFIGURATIONS[number];

/** The checkouts, configuration and pairs the arguments give; exits with status 2 on anything else. */
function parse(args: string[]) {
  const [a, b, configuration = "all", pairs = "40"] = args;
  const count = Number(pairs);
  if (
    a === undefined || b === undefined || args.length > 4 ||
    !CONFIGURATIONS.includes(configuration as Configuration) ||
    !(Number.isInteger(count) && count >= 3)
  ) {
    console.error(
      `Cannot run: expected DIR_A DIR_B [${CONFIGURATIONS.join(" | ")}] [pairs >= 3], got ${
        args.join(" ")
      }`,
    );
    Deno.exit(2);
  }
  return { dirs: [a, b], configuration: configuration as Configuration, pairs: count };
}

/** The options of `configuration`, with a store of `library`'s own class (its middleware tells it by `instanceof`). */
function optionsOf(library: typeof Library, configuration: Configuration) {
  const store = () => new library.MemoryIdempotencyStore({ maxEntries: EVENTS });
  if (configuration === "all") return reliableOptions(store());
  if (configuration === "idempotency") return { idempotency: { store: store() } };
  return { idempotency: false as const };
}

/** The library of the checkout at `dir`; exits with status 2 when there is none to load. */
async function load(dir: string): Promise<typeof Library> {
  try {
    return await import(new URL("mod.ts", `file://${Deno.realPathSync(dir)}/`).href);
  } catch (error) {
    console.error(`Cannot run: cannot load ${dir}/mod.ts: ${(error as Error).message}`);
    Deno.exit(2);
  }
}

const { dirs, configuration, pairs } = parse(Deno.args);
const libraries = [await load(dirs[0]!), await load(dirs[1]!)];
const corpora = await serveCorpora();
const sides = libraries.map((library) => ({
  library,
  client: new library.EventsClient({ baseUrl: corpora.client.url }),
}));
const timed = async (side: typeof sides[number]) => {
  const started = performance.now();
  await readThrough(
    side.client,
    16,
    "bench.reliable",
    optionsOf(side.library, configuration),
    side.library.runWorker,
  );
  return performance.now() - started;
};

// Warm both up before counting.
for (let i = 0; i < 4; i++) for (const side of sides) await timed(side);
const times: [number[], number[]] = [[], []];
const ratios: number[] = [];
for (let i = 0; i < pairs; i++) {
  const order = i % 2 === 0 ? [0, 1] : [1, 0];
  const pair = [0, 0];
  for (const at of order) pair[at] = await timed(sides[at]!);
  times[0].push(pair[0]!);
  times[1].push(pair[1]!);
  ratios.push(pair[0]! / pair[1]!);
}
corpora.close();
const round = (value: number, digits: number) => Number(value.toFixed(digits));
const result = {
  configuration,
  pairs,
  aMs: round(percentile(times[0], 0.5), 1),
  bMs: round(percentile(times[1], 0.5), 1),
  ratio: round(percentile(ratios, 0.5), 3),
  q1: round(percentile(ratios, 0.25), 3),
  q3: round(percentile(ratios, 0.75), 3),
};
console.log(
  `${configuration}: A ${result.aMs} ms, B ${result.bMs} ms a read; A / B ${result.ratio} ` +
    `(quartiles ${result.q1}–${result.q3}, ${pairs} pairs)`,
);
console.log(JSON.stringify(result));
