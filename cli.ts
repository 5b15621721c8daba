#!/usr/bin/env -S deno run -A
/**
 * The `bus-integration` command: runs the worker registrations that
 * integration modules export in one host, with health endpoints, graceful
 * drain on SIGINT/SIGTERM and configuration from the Bus environment
 * contract.
 *
 * ```sh
 * export BUS_EVENTS_API_URL=https://bus.example.test
 * export BUS_API_TOKEN_FILE=/run/secrets/bus-api-token
 * deno run -A jsr:@bus/integration/cli host --health-port 8081 ./echo_worker.ts
 * deno run -A jsr:@bus/integration/cli config --json
 * ```
 *
 * Exit status: 0 clean stop, 1 fatal error, 2 bad usage or configuration.
 * Logs go to stderr (`--log-format text|json`); a token is never accepted
 * on the command line.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";
import { runCli } from "./src/cli/program.ts";
import { isMainModule } from "./src/cli/process.ts";

export { main };
export type { CliOutput } from "./src/cli/host_command.ts";

if (isMainModule(import.meta)) await runCli();
