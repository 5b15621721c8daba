/**
 * The `bus-integration` program: runs {@linkcode main} on the process's
 * arguments, flushes the logs and exits with its status. `cli.ts` calls it
 * when it is the entry module; the npm package's `bin` wrapper calls it
 * always (see `isMainModule()` in `src/cli/process.ts` for why both exist).
 *
 * @module
 */

import { closeLogging } from "./logging.ts";
import { main } from "./main.ts";
import { commandLineArgs, exitProcess } from "./process.ts";

/** Runs the command line and ends the process with its exit status. */
export async function runCli(): Promise<never> {
  const status = await main(await commandLineArgs());
  await closeLogging();
  // Exit explicitly: a user module may leave timers or sockets behind.
  return await exitProcess(status);
}
