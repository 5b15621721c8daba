/**
 * An echo worker: answers each `example.echo.request` with its payload, as
 * `{ echo: payload }` on `example.echo.response`. Unicast: several copies of
 * it share the requests.
 *
 * Run it on its own with the CLI (the token comes from `BUS_API_TOKEN`, a
 * token file, or the Bus config directory; never from the command line):
 *
 * ```sh
 * BUS_EVENTS_API_URL=http://127.0.0.1:8080 BUS_API_TOKEN_FILE=./token \
 *   deno run -A cli.ts host --health-port 8081 examples/echo_worker.ts
 * curl -s http://127.0.0.1:8081/readyz
 * ```
 *
 * @module
 */

// The package's own name: Deno resolves it to ../mod.ts through deno.json, Node
// and Bun to the installed package, so tests/cross_runtime hosts this very file
// (built into dist/npm-roles) on every runtime.
import { defineWorker } from "@bus/integration";

/** The echo registration. */
export default defineWorker({
  name: "echo",
  names: ["example.echo.request"],
  delivery: "unicast",
  concurrency: 32,
  handler: async (event, publisher) => {
    await publisher.reply({ echo: event.payload });
  },
});
