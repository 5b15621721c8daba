// deno-lint-ignore-file no-console -- printing to stdout/stderr is what a CLI is for
/**
 * `bus-integration`: dispatches the parsed command line and maps outcomes
 * to exit statuses (0 clean, 1 fatal, 2 usage or configuration).
 *
 * @module
 */

import { readEnv } from "../runtime.ts";
import { type HelpTopic, parseCommandLine } from "./args.ts";
import { formatConfigText, resolveConfig } from "./config.ts";
import {
  type CliOutput,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  problemOf,
  runHostCommand,
} from "./host_command.ts";
import { runRedriveCommand } from "./redrive_command.ts";
import { VERSION } from "./version.ts";

const OPTIONS = `Options:
  --events-url URL      Events API: site root or …/api/v1/events (default: $BUS_EVENTS_API_URL)
  --token-file PATH     file holding the API token; wins over $BUS_API_TOKEN and
                        $BUS_API_TOKEN_FILE (default: those, then <Bus config dir>/auth/api-token)
  --health-port PORT    serve GET /healthz and GET /readyz on PORT (0: any free port)
  --health-host HOST    address of the health port (default: 127.0.0.1)
  --log-format FORMAT   text or json (JSON lines), on stderr (default: text)
  --log-level LEVEL     trace, debug, info, warning, error or fatal (default: info)`;

const HELP_OPTION = `  -h, --help            show this help`;

/** `host` and `dev-server` only. */
const PARENT_WATCH_OPTION =
  `  --no-parent-watch     keep running when the process that started this one exits
                        (default: drain and exit, as on SIGTERM)`;

/** What the commands' own help says about the environment instead of the whole block. */
const ENVIRONMENT_POINTER =
  `Environment: BUS_EVENTS_API_URL, and the token in BUS_API_TOKEN or a file;
every variable: bus-integration help`;

const ENVIRONMENT = `Environment:
  BUS_EVENTS_API_URL               Events API URL
  BUS_API_TOKEN, BUS_API_TOKEN_FILE, BUS_CONFIG_DIR, XDG_CONFIG_HOME
                                   where the token comes from
  BUS_EVENTS_LISTENER_RETRY=1      reconnect with backoff (0 turns it off)
  BUS_EVENTS_LISTENER_RETRY_MIN=1s first backoff (Go duration: 500ms, 1s, 1m30s)
  BUS_EVENTS_LISTENER_RETRY_MAX=30s
                                   backoff cap; both bounds at most 596h31m23.647s (a timer's limit)
  BUS_EVENTS_LISTENER_HEALTHY_AFTER=10s
                                   a connection open this long resets the backoff
  BUS_EVENTS_LISTENER_REQUIRED=1   registrations gate readiness unless they say otherwise
  BUS_EVENTS_TOKEN_REFRESH=0       on 401/403, re-read the token (file) instead of failing
  BUS_EVENTS_STREAM_IDLE_TIMEOUT=0 reconnect a stream that receives nothing this long
                                   (no event, no heartbeat); 0: never
  BUS_TRANSPORT=http               http (the Events API) or nats (JetStream, with NATS_URL,
                                   NATS_TOKEN / NATS_USER+NATS_PASSWORD / NATS_CREDS / NATS_NKEY,
                                   BUS_NATS_STREAM, _SUBJECT_PREFIX, _ACK_WAIT, _MAX_DELIVER, _MAX_AGE)

A token is never accepted on the command line: set BUS_API_TOKEN or use --token-file.`;

const HELP = {
  main: `bus-integration ${VERSION}: run Bus integration workers

Usage:
  bus-integration host [options] <module…>   run the modules' registrations in one host
  bus-integration config [options] [--json]  print the resolved configuration
  bus-integration dev-server [--port N]      serve the reference Events API on loopback
  bus-integration redrive [options] <name>   re-publish the dead letters of <name>
  bus-integration help [host|config|dev-server|redrive]
  bus-integration --version

${OPTIONS}
${HELP_OPTION}

${ENVIRONMENT}

Example:
  BUS_EVENTS_API_URL=http://127.0.0.1:8080 BUS_API_TOKEN_FILE=./token \\
    bus-integration host --health-port 8081 ./echo_worker.js

Exit status: 0 clean stop, 1 fatal error or handlers abandoned by the drain
timeout, 2 bad usage or configuration.`,
  host: `Usage: bus-integration host [options] <module…>

Imports each module (a path, or a URL such as file:, https: or jsr:) and runs
the registrations it exports — a "registrations" array, or a default export
that is one registration or an array — concurrently in one host on one
shared client. SIGINT or SIGTERM drains in-flight handlers and exits 0 (1
when the drain timeout abandoned handlers); a second signal exits at once.
So does the death of the process that started it (\`npx\`, a shell script),
unless --no-parent-watch. A fatal registration error stops the others,
drains, and exits 1.

${OPTIONS}
${PARENT_WATCH_OPTION}
${HELP_OPTION}

${ENVIRONMENT_POINTER}

Example:
  BUS_EVENTS_API_URL=http://127.0.0.1:8080 BUS_API_TOKEN_FILE=./token \\
    bus-integration host --health-port 8081 ./echo_worker.js ./script_runner.js`,
  config: `Usage: bus-integration config [options] [--json]

Prints each setting the host would use and where it came from (flag,
environment variable, file or default). The token is always redacted.
Exits 2 when the configuration is invalid, naming what is wrong.

${OPTIONS}
  --json                print one JSON object: {name: {value, source}}
${HELP_OPTION}

${ENVIRONMENT_POINTER}

Example:
  BUS_EVENTS_API_URL=https://bus.example.test bus-integration config --json`,
  "dev-server": `Usage: bus-integration dev-server [--port N]

Serves the reference Events API (in memory, the one the tests run on) on
127.0.0.1 and prints URL=… and TOKEN=… on stdout: a token for this process
only, valid 24 h. For trying workers and curl locally; events are lost when
it stops. SIGINT or SIGTERM stops it (exit 0).

Options:
  --port PORT           listen on PORT (default: 0, any free port)
${PARENT_WATCH_OPTION}
${HELP_OPTION}

Example:
  bus-integration dev-server --port 8080 > bus-dev.env &
  sleep 2 && . ./bus-dev.env && printf '%s\\n' "$TOKEN" > token`,
  redrive: `Usage: bus-integration redrive [options] <name> [--dry-run] [--after ID]

Reads every retained dead letter published under <name> (e.g.
job.run.request.dead-letter) and re-publishes each original event to its
original name, with the same correlationId and metadata, so the workers
handle it again. Dead letters stay where they are: the summary line gives
the last one read, for --after next time. Exits 0 when every dead letter
was handled (records that are no dead letter are skipped and counted), 1
when the Events API failed or --after is the id of no retained record
(nothing is redriven then), 2 on bad usage or configuration.

Options:
  --events-url URL      Events API: site root or …/api/v1/events (default: $BUS_EVENTS_API_URL)
  --token-file PATH     file holding the API token (default: as for host)
  --log-format FORMAT   text or json (JSON lines), on stderr (default: text)
  --log-level LEVEL     trace, debug, info, warning, error or fatal (default: info)
  --dry-run             list the dead letters (id, event, correlationId, attempts,
                        error) without publishing anything
  --after ID            start after the dead letter with this id (it must still be
                        retained: the history is read from its start to find it)
${HELP_OPTION}

${ENVIRONMENT_POINTER}

Example:
  bus-integration redrive --dry-run job.run.request.dead-letter`,
} as const satisfies Record<HelpTopic, string>;

const consoleOutput: CliOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/**
 * Runs the `bus-integration` command line and resolves with the exit
 * status; the caller exits the process with it.
 *
 * @param args The arguments after the program name.
 * @param env The environment; the process environment when omitted.
 * @param output Where command output and usage errors go.
 */
export async function main(
  args: readonly string[],
  env?: Readonly<Record<string, string | undefined>>,
  output?: CliOutput,
): Promise<number> {
  env ??= readEnv();
  output ??= consoleOutput;
  const parsed = parseCommandLine(args);
  if (!parsed.ok) {
    output.err(`bus-integration: ${parsed.problem}`);
    if (parsed.help !== undefined) output.err(`\n${HELP[parsed.help]}`);
    return EXIT_USAGE;
  }
  const { command } = parsed;
  try {
    switch (command.kind) {
      case "help":
        output.out(HELP[command.topic]);
        return EXIT_OK;
      case "version":
        output.out(VERSION);
        return EXIT_OK;
      case "config":
        return await printConfig(command.flags, command.json, env, output);
      case "host":
        return await runHostCommand(command, env, output);
      case "redrive":
        return await runRedriveCommand(command, env, output);
      case "dev-server": {
        // Loaded on demand: the reference server (and jose) stay out of `host`'s start-up.
        const { runDevServerCommand } = await import("./dev_server_command.ts");
        return await runDevServerCommand(command, output);
      }
    }
  } catch (error) {
    // Only bugs get here: every expected failure has its own status above.
    output.err(`bus-integration: unexpected failure: ${problemOf(error)}`);
    if (error instanceof Error && error.stack) output.err(error.stack);
    return EXIT_FAILURE;
  }
}

async function printConfig(
  flags: Parameters<typeof resolveConfig>[0],
  json: boolean,
  env: Readonly<Record<string, string | undefined>>,
  output: CliOutput,
): Promise<number> {
  let shown;
  try {
    ({ shown } = await resolveConfig(flags, env));
  } catch (error) {
    output.err(`bus-integration: ${problemOf(error)}`);
    return EXIT_USAGE;
  }
  output.out(json ? JSON.stringify(shown, null, 2) : formatConfigText(shown));
  return EXIT_OK;
}
