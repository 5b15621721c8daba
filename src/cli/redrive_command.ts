/**
 * `bus-integration redrive <name>`: re-publishes the dead letters of one
 * name to their original events from the shell, or with `--dry-run` lists
 * them, one tab-separated line each.
 *
 * @module
 */

import { redrive, type RedrivenDeadLetter, type RedriveResult } from "../redrive.ts";
import type { CommonFlags } from "./args.ts";
import { resolveConfig } from "./config.ts";
import {
  type CliOutput,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  openConfiguredTransport,
  problemOf,
} from "./host_command.ts";
import { configureLogging } from "./logging.ts";
import { onShutdownSignal } from "./process.ts";

/** What the command line asked `redrive` for. */
export interface RedriveCommand {
  /** The common options (URL, token file, logging). */
  flags: CommonFlags;
  /** The dead letters' event name. */
  name: string;
  /** List instead of publishing. */
  dryRun: boolean;
  /** Start after this dead letter id. */
  after?: string;
}

/**
 * Redrives (or lists) the dead letters of `command.name`: exit 0 when it
 * read to the end, 1 when the Events API failed or a signal interrupted it,
 * 2 when the configuration is invalid.
 */
export async function runRedriveCommand(
  command: RedriveCommand,
  env: Readonly<Record<string, string | undefined>>,
  output: CliOutput,
): Promise<number> {
  let config;
  try {
    config = await resolveConfig(command.flags, env);
    await configureLogging(config.logFormat, config.logLevel);
  } catch (error) {
    output.err(`bus-integration: ${problemOf(error)}`);
    return EXIT_USAGE;
  }
  const controller = new AbortController();
  const removeSignalHandlers = await onShutdownSignal((signal) => {
    controller.abort(new Error(`interrupted by ${signal}`));
  });
  // The same transport the host would use: the Events API, or NATS with BUS_TRANSPORT=nats.
  const transport = await openConfiguredTransport(config, output);
  if (typeof transport === "number") {
    removeSignalHandlers();
    return transport;
  }
  try {
    const result = await redrive({
      transport,
      from: command.name,
      dryRun: command.dryRun,
      after: command.after,
      signal: controller.signal,
    });
    for (const deadLetter of result.deadLetters) output.out(listLine(deadLetter));
    output.out(summary(command, result));
    return EXIT_OK;
  } catch (error) {
    output.err(`bus-integration: Cannot redrive ${command.name}: ${problemOf(error)}`);
    return EXIT_FAILURE;
  } finally {
    removeSignalHandlers();
    await transport.close();
  }
}

/** `id  event name  correlationId  attempts  code: message`, tab-separated, one line. */
function listLine({ id, payload }: RedrivenDeadLetter): string {
  const { envelope, error } = payload;
  const oneLine = (text: unknown) => String(text ?? "-").replace(/\s+/g, " ");
  return [
    id,
    envelope.name,
    envelope.correlationId,
    `attempts=${oneLine(payload.attempts)}`,
    `${oneLine(error?.code)}: ${oneLine(error?.message)}`,
  ].map(oneLine).join("\t");
}

function summary(command: RedriveCommand, result: RedriveResult): string {
  const verb = command.dryRun ? "would redrive" : "redrove";
  const count = command.dryRun ? result.matched : result.redriven;
  const next = result.lastEventId === undefined ? "" : `; next time: --after ${result.lastEventId}`;
  return `${verb} ${count} of ${result.read} dead letters from ${command.name} ` +
    `(${result.filtered} filtered, ${result.skipped} skipped)${next}`;
}
