/**
 * LogTape records for a test: configures a memory sink for one category
 * tree at a level, and resets LogTape at the end of an `await using` block.
 *
 * @module
 */

import { configure, type LogLevel, type LogRecord, reset } from "@logtape/logtape";

/** The records logged so far; disposing resets LogTape. */
export type CapturedLogs = LogRecord[] & AsyncDisposable;

/** Captures the records of `category` (and below) at `level` and above. */
export async function captureLogs(
  level: LogLevel,
  category: readonly string[] = ["bus-integration"],
): Promise<CapturedLogs> {
  const records = [] as unknown as CapturedLogs;
  await configure({
    reset: true,
    sinks: { memory: (record: LogRecord) => records.push(record) },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
      { category: [...category], lowestLevel: level, sinks: ["memory"] },
    ],
  });
  records[Symbol.asyncDispose] = () => reset();
  return records;
}
