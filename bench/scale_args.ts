/**
 * The command line of `bench/scale.ts`: flags, their defaults, and a
 * {@linkcode UsageError} naming the flag for anything else.
 *
 * @module
 */

/** What one run of the scale benchmark measures. */
export interface ScaleSettings {
  /** Listeners the host opens. @default {1000} */
  listeners: number;
  /** Which server: the reference Events API or a `nats-server`. @default {"http"} */
  transport: "http" | "nats";
  /** Publishes timed with 1 open and with N open, per round. @default {500} */
  samples: number;
  /**
   * Pairs of rounds, 1 open and N open, in alternating order; the publish
   * figures pool them and report each pair's p99 ratio. @default {32}
   */
  rounds: number;
  /** Pairs of rounds run first and not counted, so that both sides run warm. @default {4} */
  warmUpRounds: number;
  /** Idle time over which CPU is measured, in seconds. @default {5} */
  idleSeconds: number;
  /** Requests held pending to measure their heap. @default {5000} */
  pending: number;
  /** Longest wait for all listeners to be open, in seconds. @default {60} */
  openTimeout: number;
}

/** A bad command line: the benchmark exits with status 2 and this message. */
export class UsageError extends Error {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const DEFAULTS: ScaleSettings = {
  listeners: 1000,
  transport: "http",
  samples: 500,
  rounds: 32,
  warmUpRounds: 4,
  idleSeconds: 5,
  pending: 5000,
  openTimeout: 60,
};

/** The numeric flags, each with the least value it takes and whether it must be whole. */
const NUMBERS = {
  "--listeners": { key: "listeners", least: 1, integer: true },
  "--samples": { key: "samples", least: 1, integer: true },
  "--rounds": { key: "rounds", least: 1, integer: true },
  "--warm-up-rounds": { key: "warmUpRounds", least: 0, integer: true },
  "--idle-seconds": { key: "idleSeconds", least: 0.1, integer: false },
  "--pending": { key: "pending", least: 1, integer: true },
  "--open-timeout": { key: "openTimeout", least: 0.1, integer: false },
} as const;

/**
 * Reads `--flag value` pairs.
 *
 * @throws {UsageError} On an unknown flag, a missing value, a number out of
 * range or a transport other than `http` and `nats`.
 */
export function parseScaleArgs(args: readonly string[]): ScaleSettings {
  const settings = { ...DEFAULTS };
  for (let at = 0; at < args.length; at += 2) {
    const flag = args[at]!;
    const value = args[at + 1];
    if (value === undefined) throw new UsageError(`Cannot read ${flag}: it has no value`);
    if (flag === "--transport") {
      if (value !== "http" && value !== "nats") {
        throw new UsageError(
          `Cannot use --transport: current value is ${value}, expected http or nats`,
        );
      }
      settings.transport = value;
      continue;
    }
    const spec = NUMBERS[flag as keyof typeof NUMBERS];
    if (spec === undefined) {
      throw new UsageError(
        `Cannot read ${flag}: expected one of --transport, ${Object.keys(NUMBERS).join(", ")}`,
      );
    }
    const number = Number(value);
    if (!(number >= spec.least) || (spec.integer && !Number.isInteger(number))) {
      throw new UsageError(
        `Cannot use ${flag}: current value is ${value}, expected ${
          spec.integer ? "an integer" : "a number"
        } >= ${spec.least}`,
      );
    }
    settings[spec.key] = number;
  }
  return settings;
}
