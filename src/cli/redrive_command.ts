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
import { describeError } from "../errors.ts";
import { configureLogging } from "./logging.ts";
import { KnownSecrets } from "./transport.ts";
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
 * read to the end, 1 when the Events API failed, a signal interrupted it
 * or `--after` is the id of no retained record, 2 when the configuration
 * is invalid.
 */
export async function runRedriveCommand(
  command: RedriveCommand,
  env: Readonly<Record<string, string | undefined>>,
  output: CliOutput,
): Promise<number> {
  let config;
  // The token as the transport got it: a dead letter's error may quote it, and is listed.
  const secrets = new KnownSecrets();
  try {
    config = await resolveConfig(command.flags, env);
    await configureLogging(config.logFormat, config.logLevel, (line) => secrets.redact(line));
  } catch (error) {
    output.err(`bus-integration: ${problemOf(error)}`);
    return EXIT_USAGE;
  }
  const controller = new AbortController();
  const removeSignalHandlers = await onShutdownSignal((signal) => {
    controller.abort(new Error(`interrupted by ${signal}`));
  });
  // The same transport the host would use: the Events API, or NATS with BUS_TRANSPORT=nats.
  const transport = await openConfiguredTransport(config, output, secrets);
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
    for (const deadLetter of result.deadLetters) {
      output.out(secrets.redact(listLine(deadLetter)));
    }
    output.out(summary(command, result));
    const hint = wrongNameHint(command.name, result);
    if (hint !== undefined) output.err(`bus-integration: ${hint}`);
    return EXIT_OK;
  } catch (error) {
    // 1, not 2: an `--after` the history does not hold is found only by reading
    // the server (and may be one retention dropped); 2 is for what is wrong
    // before anything connects.
    output.err(`bus-integration: ${secrets.redact(failureText(command.name, error))}`);
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

/**
 * Why redrive failed, with the cause (`ECONNREFUSED 127.0.0.1:8080`). Its
 * own refusal (a RangeError: `after` not found) names the name already.
 */
function failureText(name: string, error: unknown): string {
  if (error instanceof RangeError) return error.message;
  return `Cannot redrive ${name}: ${describeError(error)}`;
}

/**
 * A hint when every record read was skipped as no dead letter and the name
 * is not a dead-letter name: most likely the original event's name was
 * given for its dead letters'.
 */
function wrongNameHint(name: string, result: RedriveResult): string | undefined {
  if (result.skipped === 0 || result.matched + result.filtered > 0) return undefined;
  if (name.endsWith(DEAD_LETTER_SUFFIX)) return undefined;
  return `no record of ${name} was a dead letter: did you mean ${name}${DEAD_LETTER_SUFFIX}?`;
}

/** What a dead letter's name ends with, unless a worker chose its own. */
const DEAD_LETTER_SUFFIX = ".dead-letter";

function summary(command: RedriveCommand, result: RedriveResult): string {
  const verb = command.dryRun ? "would redrive" : "redrove";
  const count = command.dryRun ? result.matched : result.redriven;
  const next = result.lastEventId === undefined ? "" : `; next time: --after ${result.lastEventId}`;
  return `${verb} ${count} of ${result.read} dead letters from ${command.name} ` +
    `(${result.filtered} filtered, ${result.skipped} skipped)${next}`;
}
