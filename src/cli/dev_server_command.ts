/**
 * `bus-integration dev-server`: the reference Events API of
 * `@bus/integration/testing` on loopback, for trying workers and `curl`
 * where there is no Deno to run `deno task reference-server`. Prints
 * `URL=…` and `TOKEN=…` on stdout (a shell can source them) and serves
 * until SIGINT, SIGTERM or the death of its parent.
 *
 * @module
 */

import { createEventsApi } from "../testing/events_api.ts";
import { type CliOutput, EXIT_FAILURE, EXIT_OK, problemOf } from "./host_command.ts";
import { describeStopRequest, onStopRequests, type StopRequest } from "./parent_watch.ts";
import { exitProcess } from "./process.ts";

/** Where the server listens: loopback only, since its tokens are for trying things. */
export const DEV_SERVER_HOSTNAME = "127.0.0.1";

/** How long the printed token stays valid. */
const TOKEN_TTL_SECONDS = 24 * 3600;

/**
 * Serves until asked to stop, then closes every stream and resolves 0;
 * resolves 1 when the port cannot be bound (in use, or not permitted).
 *
 * @param command `port` 0 picks a free one; `parentWatch` stops the server
 * when the process that started it exits.
 */
export async function runDevServerCommand(
  command: { port: number; parentWatch: boolean },
  output: CliOutput,
): Promise<number> {
  const api = createEventsApi();
  let url: string;
  try {
    ({ url } = await api.serve({ hostname: DEV_SERVER_HOSTNAME, port: command.port }));
  } catch (error) {
    await api.close();
    output.err(
      `bus-integration: Cannot serve on ${DEV_SERVER_HOSTNAME}:${command.port}: ${
        problemOf(error)
      }`,
    );
    return EXIT_FAILURE;
  }
  let stopRequested: (request: StopRequest) => void = () => {};
  const stopped = new Promise<StopRequest>((resolve) => stopRequested = resolve);
  const removeHandlers = await onStopRequests({
    onStop: (request) => stopRequested(request),
    onRepeat: () => void exitProcess(EXIT_FAILURE),
  }, { parentWatch: command.parentWatch });
  try {
    // `identity_id` of what this token publishes, as the README's curl lines show it.
    const token = await api.mintToken({ sub: "local-user", ttlSeconds: TOKEN_TTL_SECONDS });
    output.out(`URL=${url}`);
    output.out(`TOKEN=${token}`);
    output.err("(a test token for this process only, valid 24 h; Ctrl-C stops the server)");
    const request = await stopped;
    output.err(`bus-integration: ${describeStopRequest(request)}: stopping the reference server`);
    return EXIT_OK;
  } finally {
    removeHandlers();
    await api.close();
  }
}
