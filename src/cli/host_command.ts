/**
 * `bus-integration host`: load modules, run their registrations in one
 * `Host`, serve health, and drain on SIGINT/SIGTERM.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { Host } from "../host.ts";
import { type HttpServer, serveHttp } from "../http_server.ts";
import type { WorkerRegistration } from "../registration.ts";
import type { CommonFlags } from "./args.ts";
import { resolveConfig, type ResolvedConfig } from "./config.ts";
import { KnownSecrets, openTransport, transportTarget } from "./transport.ts";
import type { EventTransport } from "../transport.ts";
import { closeLogging, configureLogging } from "./logging.ts";
import { loadRegistrations } from "./modules.ts";
import { describeStopRequest, onStopRequests } from "./parent_watch.ts";
import { exitProcess } from "./process.ts";
import { VERSION } from "./version.ts";

/** Exit status of a clean stop. */
export const EXIT_OK = 0;
/** Exit status after a fatal error. */
export const EXIT_FAILURE = 1;
/** Exit status for bad usage or configuration. */
export const EXIT_USAGE = 2;

/** Where the CLI writes its own (non-log) messages. */
export interface CliOutput {
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
}

const logger = getLogger(["bus-integration", "cli"]);

/**
 * Runs the host until a signal or, with `parentWatch` (the default), the
 * death of its parent process (exit 0 after draining; 1 when the drain
 * timeout abandoned handlers), or a fatal registration error (exit 1).
 * Configuration, module and registration problems exit 2 before anything
 * connects.
 */
export async function runHostCommand(
  command: { flags: CommonFlags; modules: readonly string[]; parentWatch?: boolean },
  env: Readonly<Record<string, string | undefined>>,
  output: CliOutput,
): Promise<number> {
  let config;
  let registrations: WorkerRegistration[];
  // Filled as the transport gets its token; every log line and report is redacted with it.
  const secrets = new KnownSecrets();
  try {
    config = await resolveConfig(command.flags, env);
    await configureLogging(config.logFormat, config.logLevel, (line) => secrets.redact(line));
    registrations = await loadRegistrations(command.modules);
  } catch (error) {
    output.err(`bus-integration: ${problemOf(error)}`);
    return EXIT_USAGE;
  }
  const controller = new AbortController();
  const transport = await openConfiguredTransport(config, output, secrets);
  if (typeof transport === "number") return transport;
  let host: Host;
  try {
    host = new Host({
      transport,
      registrations,
      signal: controller.signal,
      reconnect: config.listener.reconnect,
      tokenRefresh: config.listener.tokenRefresh,
      required: config.listener.required,
      secrets: () => secrets.list(),
    });
  } catch (error) {
    await transport.close();
    output.err(`bus-integration: ${problemOf(error)}`);
    return EXIT_USAGE;
  }

  const removeStopHandlers = await onStopRequests({
    onStop: (request) => {
      if (request.kind === "signal") {
        logger.info("Received {signal}: draining, send it again to exit at once", request);
      } else {
        // An orphan would keep taking its unicast groups' events: stop as on SIGTERM.
        logger.warn("Parent process {was} exited (parent now {now}): draining", request);
      }
      controller.abort(new Error(describeStopRequest(request)));
    },
    onRepeat: (signal) => {
      logger.warn("Received {signal} again: exiting without draining", { signal });
      closeLogging().finally(() => exitProcess(EXIT_FAILURE));
    },
  }, { parentWatch: command.parentWatch ?? true });

  logger.info("bus-integration {version} hosting {names} on {url} (token from {tokenSource})", {
    version: VERSION,
    names: host.names,
    url: transportTarget(config.transport, () => config.client),
    tokenSource: config.shown.token?.source ?? config.shown.natsCredentials?.source,
  });
  // Started before the health port opens, so the first probe already sees
  // "running" rather than "idle".
  const running = host.run();
  running.catch(() => {}); // awaited below; this only marks it handled meanwhile
  let server: HttpServer | undefined;
  try {
    if (config.health) {
      try {
        server = await serveHttp(host.fetch, config.health);
      } catch (error) {
        logger.fatal("Cannot serve health endpoints on {hostname}:{port}: {error}", {
          ...config.health,
          error,
        });
        controller.abort(error);
        await running.catch(() => {});
        return EXIT_FAILURE;
      }
      logger.info("Health endpoints on {url}/healthz and {url}/readyz", { url: server.url });
    }
    try {
      await running;
    } catch (error) {
      // One line (the formatter renders the error as `name: message`); the stack at debug only.
      logger.fatal("Host failed: {error}", { error });
      logger.debug("Host failed at: {stack}", { stack: (error as Error)?.stack });
      return EXIT_FAILURE;
    }
    if (host.abandoned > 0) {
      // Not clean: over HTTP those handlers' events are lost, and a supervisor must be able to tell.
      logger.error("Host stopped, but the drain timeout abandoned {count} handlers", {
        count: host.abandoned,
      });
      return EXIT_FAILURE;
    }
    logger.info("Host stopped cleanly");
    return EXIT_OK;
  } finally {
    removeStopHandlers();
    await server?.close();
    await transport.close();
  }
}

/**
 * Opens the transport `config` names (the Events API, or NATS with
 * `BUS_TRANSPORT=nats`); when it cannot, prints why and returns the exit
 * status: usage for a bad option, failure for a server that refuses or
 * cannot be reached. `secrets` learns every secret handed to the transport.
 */
export async function openConfiguredTransport(
  config: ResolvedConfig,
  output: CliOutput,
  secrets?: KnownSecrets,
): Promise<EventTransport | number> {
  try {
    return await openTransport(
      config.transport,
      () => config.client,
      `bus-integration/${VERSION}`,
      secrets,
    );
  } catch (error) {
    output.err(`bus-integration: ${problemOf(error)}`);
    return error instanceof TypeError || error instanceof RangeError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** The message of a setup failure, without a stack. */
export function problemOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
