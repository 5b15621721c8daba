/**
 * `deno task reference-server`: `bus-integration dev-server` from source.
 * Serves the reference Events API on loopback and prints its URL and a
 * token, for trying it with curl or pointing a worker at it. Stop with
 * Ctrl-C. A bad port is a usage error (exit 2).
 *
 * ```sh
 * deno task reference-server            # a free port
 * deno task reference-server 8080       # a chosen port (or --port 8080)
 * ```
 *
 * @module
 */

import { main } from "../cli.ts"; // "@bus/integration/cli"

/** A lone bare argument is the port, as this task has always taken it. */
const [only, ...more] = Deno.args;
const args = only !== undefined && !only.startsWith("-") && more.length === 0
  ? ["--port", only]
  : Deno.args;
Deno.exit(await main(["dev-server", ...args]));
