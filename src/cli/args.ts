/**
 * The `bus-integration` command line: a small hand-rolled parser (GNU-style
 * `--name value` / `--name=value`, `--` ends options) that returns either a
 * command or a usage problem as data. Hand-rolled rather than
 * `node:util.parseArgs` so that its messages follow ours and never echo an
 * option's value that could be a secret.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { redactedUrl } from "../dialed_url.ts";
import { eventsUrlProblem } from "../env/contract.ts";
import { eventNameProblem } from "../envelope.ts";

/** LogTape's levels, in rising severity. */
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;

/** A LogTape level name. */
export type LogLevelName = typeof LOG_LEVELS[number];

/** How the CLI formats log records on stderr. */
export type LogFormat = "text" | "json";

/** Options shared by `host` and `config`; unset means "not given on the command line". */
export interface CommonFlags {
  /** `--events-url`. */
  eventsUrl?: string;
  /** `--token-file`. */
  tokenFile?: string;
  /** `--health-port`. */
  healthPort?: number;
  /** `--health-host`. */
  healthHost?: string;
  /** `--log-format`. */
  logFormat?: LogFormat;
  /** `--log-level`. */
  logLevel?: LogLevelName;
}

/** What `help` can explain: the program, or one command. */
export type HelpTopic = "main" | "host" | "config" | "dev-server" | "redrive";

/** The topics `help <topic>` takes: one per command. */
const HELP_TOPICS = ["host", "config", "dev-server", "redrive"] as const satisfies readonly Exclude<
  HelpTopic,
  "main"
>[];

/** What the command line asks for. */
export type Command =
  | { kind: "help"; topic: HelpTopic }
  | { kind: "version" }
  | { kind: "host"; flags: CommonFlags; modules: string[]; parentWatch: boolean }
  | { kind: "config"; flags: CommonFlags; json: boolean }
  | { kind: "dev-server"; port: number; parentWatch: boolean }
  | { kind: "redrive"; flags: CommonFlags; name: string; dryRun: boolean; after?: string };

/**
 * The outcome of parsing: a command, or what is wrong with the usage (and,
 * when the usage is too incomplete for one message to help, the help topic
 * to print with it).
 */
export type ParseResult =
  | { ok: true; command: Command }
  | { ok: false; problem: string; help?: HelpTopic };

type ValueOption =
  | "events-url"
  | "token-file"
  | "health-port"
  | "health-host"
  | "log-format"
  | "log-level";

const VALUE_OPTIONS: ReadonlySet<string> = new Set<ValueOption>([
  "events-url",
  "token-file",
  "health-port",
  "health-host",
  "log-format",
  "log-level",
]);

/** Spellings people try for a token flag; each is refused with the same advice. */
const TOKEN_OPTIONS: ReadonlySet<string> = new Set(["token", "api-token", "bus-api-token"]);

/** The advice every refused token flag gets. */
export const TOKEN_ON_COMMAND_LINE =
  "Cannot take a token on the command line: it would show in the process list and shell history; " +
  "set BUS_API_TOKEN or use --token-file";

/**
 * Parses the arguments after the program name.
 *
 * @param args e.g. `["host", "--health-port", "8081", "worker.ts"]`.
 * @returns the command, or `{ ok: false, problem }` with a message that
 * names the offending argument (never a value that follows `--token`).
 */
export function parseCommandLine(args: readonly string[]): ParseResult {
  const [first, ...rest] = args;
  // No command is a usage error (status 2), not a request for help: a
  // script that lost its arguments must not pass.
  if (first === undefined) return { ok: false, problem: "Missing command", help: "main" };
  if (first === "help") {
    const [topic, extra] = rest;
    if (topic === undefined) return done({ kind: "help", topic: "main" });
    // A typo (`help hots`) is a usage error: the main help would hide it, with status 0.
    if (!(HELP_TOPICS as readonly string[]).includes(topic)) {
      return refuse(
        `Unknown help topic ${JSON.stringify(topic)}: expected ${HELP_TOPICS.join(", ")}`,
      );
    }
    if (extra !== undefined) {
      return refuse(`Cannot use ${JSON.stringify(extra)}: help takes one topic`);
    }
    return done({ kind: "help", topic: topic as HelpTopic });
  }
  if (first === "-h" || first === "--help") return done({ kind: "help", topic: "main" });
  if (first === "-V" || first === "--version") return done({ kind: "version" });
  if (first.startsWith("-")) return refuse(unknownOption(first));
  if (first === "dev-server") return parseDevServer(rest);
  if (first !== "host" && first !== "config" && first !== "redrive") {
    return refuse(
      `Unknown command ${
        JSON.stringify(first)
      }: expected host, config, dev-server, redrive or help`,
    );
  }
  return parseCommand(first, rest);
}

/** `dev-server [--port N] [--no-parent-watch]`. */
function parseDevServer(args: readonly string[]): ParseResult {
  let port = 0;
  let parentWatch = true;
  let index = 0;
  while (index < args.length) {
    const arg = args[index++]!;
    if (arg === "-h" || arg === "--help") return done({ kind: "help", topic: "dev-server" });
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg !== "-") return refuse(unknownOption(arg, "dev-server"));
      return refuse(`Cannot use ${JSON.stringify(arg)}: dev-server takes no arguments`);
    }
    const { name, inline } = splitOption(arg);
    if (name === "no-parent-watch") {
      if (inline !== undefined) return refuse(takesNoValue(name));
      parentWatch = false;
      continue;
    }
    if (name !== "port") return refuse(unknownOption(`--${name}`, "dev-server"));
    const value = inline ?? args[index++];
    if (value === undefined) return refuse(`Cannot use --port: it needs a value`);
    const parsed = parsePort(value);
    if (parsed === undefined) return refuse(badValue("port", value, PORT_EXPECTED));
    port = parsed;
  }
  return done({ kind: "dev-server", port, parentWatch });
}

function parseCommand(kind: "host" | "config" | "redrive", args: readonly string[]): ParseResult {
  const flags: CommonFlags = {};
  const positionals: string[] = [];
  let json = false;
  const redrive: { dryRun: boolean; after?: string } = { dryRun: false };
  let parentWatch = true;
  let index = 0;
  while (index < args.length) {
    const arg = args[index++]!;
    if (arg === "--") {
      positionals.push(...args.slice(index));
      break;
    }
    if (arg === "-h" || arg === "--help") return done({ kind: "help", topic: kind });
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    // The command's help, as for an unknown long option: both are options of this command.
    if (!arg.startsWith("--")) return refuse(unknownOption(arg, kind));
    const { name, inline } = splitOption(arg);
    if (TOKEN_OPTIONS.has(name)) return refuse(TOKEN_ON_COMMAND_LINE);
    if (name === "json" && kind === "config") {
      if (inline !== undefined) return refuse(takesNoValue(name));
      json = true;
      continue;
    }
    if (name === "no-parent-watch" && kind === "host") {
      if (inline !== undefined) return refuse(takesNoValue(name));
      parentWatch = false;
      continue;
    }
    if (kind === "redrive" && name === "dry-run") {
      if (inline !== undefined) return refuse(takesNoValue(name));
      redrive.dryRun = true;
      continue;
    }
    const known = kind === "redrive"
      ? name === "after" || REDRIVE_OPTIONS.has(name)
      : VALUE_OPTIONS.has(name);
    if (!known) return refuse(unknownOption(`--${name}`, kind));
    const value = inline ?? args[index++];
    if (value === undefined) return refuse(`Cannot use --${name}: it needs a value`);
    if (name === "after") {
      if (value === "") return refuse(badValue(name, value, "a dead letter's id"));
      redrive.after = value;
      continue;
    }
    const problem = setFlag(flags, name as ValueOption, value);
    if (problem !== undefined) return refuse(problem);
  }
  if (kind === "redrive") return redriveCommand(flags, positionals, redrive);
  if (flags.healthHost !== undefined && flags.healthPort === undefined) {
    return refuse("Cannot use --health-host without --health-port");
  }
  if (kind === "config") {
    if (positionals.length > 0) {
      return refuse(`Cannot use ${JSON.stringify(positionals[0])}: config takes no arguments`);
    }
    return done({ kind, flags, json });
  }
  if (positionals.length === 0) {
    return refuse("Cannot run host: give at least one module (a path or URL)");
  }
  return done({ kind, flags, modules: positionals, parentWatch });
}

/** The common options `redrive` takes: it serves no health endpoints. */
const REDRIVE_OPTIONS: ReadonlySet<string> = new Set<ValueOption>([
  "events-url",
  "token-file",
  "log-format",
  "log-level",
]);

/** `redrive <name> [--dry-run] [--after ID]`, once its options are read. */
function redriveCommand(
  flags: CommonFlags,
  positionals: readonly string[],
  options: { dryRun: boolean; after?: string },
): ParseResult {
  const [name, extra] = positionals;
  if (name === undefined) {
    return refuse(
      "Cannot redrive: give the dead letters' event name, e.g. job.run.request.dead-letter",
    );
  }
  if (extra !== undefined) {
    return refuse(`Cannot use ${JSON.stringify(extra)}: redrive takes one event name`);
  }
  const problem = eventNameProblem(name);
  if (problem !== undefined) {
    return refuse(`Cannot redrive ${JSON.stringify(name)}: it is no event name (${problem})`);
  }
  return done({ kind: "redrive", flags, name, ...options });
}

/** `--name=value` → `{ name, inline: "value" }`; `--name` → `{ name }`. */
function splitOption(arg: string): { name: string; inline?: string } {
  const equals = arg.indexOf("=");
  if (equals < 0) return { name: arg.slice(2) };
  return { name: arg.slice(2, equals), inline: arg.slice(equals + 1) };
}

const PORT_EXPECTED = "an integer 0-65535 (0 picks a free port)";

/** A TCP port number, or `undefined` when `value` is not one. */
function parsePort(value: string): number | undefined {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  return port >= 0 && port <= 65_535 ? port : undefined;
}

function takesNoValue(name: string): string {
  return `Cannot use --${name}: it takes no value`;
}

function badValue(name: string, value: string, expected: string): string {
  return `Cannot use --${name}: current value is ${JSON.stringify(value)}, expected ${expected}`;
}

/** Stores one option's value, or says what is wrong with it. */
function setFlag(flags: CommonFlags, name: ValueOption, value: string): string | undefined {
  const bad = (expected: string) => badValue(name, value, expected);
  switch (name) {
    case "events-url": {
      const problem = eventsUrlProblem(value);
      // Shown redacted whatever is wrong: a URL that does not parse may still hold a password.
      if (problem !== undefined) return badValue(name, redactedUrl(value), problem);
      flags.eventsUrl = value;
      return undefined;
    }
    case "token-file":
      if (value === "") return bad("a file path");
      flags.tokenFile = value;
      return undefined;
    case "health-port": {
      const port = parsePort(value);
      if (port === undefined) return bad(PORT_EXPECTED);
      flags.healthPort = port;
      return undefined;
    }
    case "health-host":
      if (value === "" || /[\s/]/.test(value)) return bad("a host name or IP address");
      flags.healthHost = value;
      return undefined;
    case "log-format":
      if (value !== "text" && value !== "json") return bad("text or json");
      flags.logFormat = value;
      return undefined;
    case "log-level": {
      const level = value === "warn" ? "warning" : value;
      if (!(LOG_LEVELS as readonly string[]).includes(level)) return bad(LOG_LEVELS.join(", "));
      flags.logLevel = level as LogLevelName;
      return undefined;
    }
  }
}

function unknownOption(option: string, kind?: Exclude<HelpTopic, "main">): string {
  const hint = kind === undefined ? "bus-integration --help" : `bus-integration ${kind} --help`;
  // Only the name: `--foo=bar` is reported as `--foo`, in case bar is a secret.
  const name = option.split("=", 1)[0];
  return `Unknown option ${JSON.stringify(name)}: see ${hint}`;
}

function done(command: Command): ParseResult {
  return { ok: true, command };
}

function refuse(problem: string): ParseResult {
  return { ok: false, problem };
}
