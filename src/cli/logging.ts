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
  type LogRecord,
  type TextFormatter,
} from "@logtape/logtape";
import { loggableValue, messageText } from "../log_fields.ts";
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
 * The CLI's formatter for `format`. Errors read as `name: message` in the
 * message of both; JSON lines carry each error property as fields
 * (`{name, message, code?, status?, cause?, stack?}`), with the stack only
 * at `debug` and `trace`. `redact`, when given, rewrites each finished
 * line: the CLI removes the secrets it knows (see `KnownSecrets`), for the
 * texts the library does not write itself, such as a handler's error.
 */
export function logFormatter(
  format: LogFormat,
  level: LogLevelName,
  redact?: (line: string) => string,
): TextFormatter {
  const formatter = plainFormatter(format, level);
  // On the finished line, so that no part of a record (message, property, cause) escapes it.
  return redact === undefined ? formatter : (record) => redact(formatter(record));
}

/** {@linkcode logFormatter} before any redaction. */
function plainFormatter(format: LogFormat, level: LogLevelName): TextFormatter {
  if (format !== "json") {
    return getTextFormatter({
      value: (value, inspect) =>
        typeof value === "string" || value instanceof Error ? messageText(value) : inspect(value),
    });
  }
  const json = getJsonLinesFormatter();
  const stack = level === "debug" || level === "trace";
  return (record: LogRecord) => {
    let rendered = "";
    record.message.forEach((part, index) => rendered += index % 2 === 0 ? part : messageText(part));
    const properties: Record<string, unknown> = {};
    for (const key in record.properties) {
      properties[key] = loggableValue(record.properties[key], { stack });
    }
    return json({ ...record, message: [rendered], properties });
  };
}

/**
 * Sends every category at `level` and above to stderr, as text lines or
 * JSON lines (see {@linkcode logFormatter}), each line through `redact`
 * when given; LogTape's own meta logger only from warnings.
 */
export async function configureLogging(
  format: LogFormat,
  level: LogLevelName,
  redact?: (line: string) => string,
): Promise<void> {
  await configure({
    reset: true,
    sinks: {
      stderr: getConsoleSink({
        formatter: logFormatter(format, level, redact),
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
