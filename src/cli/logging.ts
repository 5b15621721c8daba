/**
 * LogTape setup for the CLI. The library only logs; an application (here the
 * CLI) decides where records go: one console sink that writes every level
 * to stderr, so stdout stays free for command output.
 *
 * @module
 */

import {
  configure,
  dispose,
  getConsoleSink,
  getJsonLinesFormatter,
  getTextFormatter,
  type LogLevel,
} from "@logtape/logtape";
import type { LogFormat, LogLevelName } from "./args.ts";

/** `console.error` writes to stderr on Deno, Node and Bun alike. */
const ALL_TO_STDERR = {
  trace: "error",
  debug: "error",
  info: "error",
  warning: "error",
  error: "error",
  fatal: "error",
} as const;

/**
 * Sends every category at `level` and above to stderr, as text lines or
 * JSON lines; LogTape's own meta logger only from warnings.
 */
export async function configureLogging(format: LogFormat, level: LogLevelName): Promise<void> {
  await configure({
    reset: true,
    sinks: {
      stderr: getConsoleSink({
        formatter: format === "json"
          ? getJsonLinesFormatter()
          : getTextFormatter({ value: "bare" }),
        levelMap: ALL_TO_STDERR,
      }),
    },
    loggers: [
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["stderr"],
        parentSinks: "override",
      },
      { category: [], lowestLevel: level satisfies LogLevel, sinks: ["stderr"] },
    ],
  });
}

/** Flushes and removes the sinks, before the process exits. */
export async function closeLogging(): Promise<void> {
  await dispose();
}
