/**
 * Serving a `fetch` handler over HTTP on Deno, Node and Bun, through srvx
 * (the one `serve()` for all three). This is a leaf outside the core's
 * module graph: only `src/cli/` (the host's health endpoints) and
 * `src/testing/` (the reference server) import it, so `mod.ts` never reaches
 * srvx and the core depends on LogTape alone. A `Host` that an application
 * embeds is served with whatever server the application already runs.
 *
 * @module
 */

import { settlesWithin } from "./async.ts";

/** A bound HTTP server started by {@linkcode serveHttp}. */
export interface HttpServer {
  /** The site root, e.g. `http://127.0.0.1:8081` (no trailing slash). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Stops listening and drops every connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on `hostname:port` (`0` picks a free port) through srvx,
 * which runs on Deno, Node and Bun. It prints nothing and installs no signal
 * handlers: the caller owns both.
 */
export async function serveHttp(
  handler: (request: Request) => Response | Promise<Response>,
  options: { hostname: string; port: number },
): Promise<HttpServer> {
  // srvx reads the environment (PORT, HOST, NO_COLOR, TERM) when it loads;
  // loading it only here means importing this file without serving (the
  // reference server's in-process `fetch`) needs no access to them.
  const { serve } = await import("srvx");
  const server = serve({
    fetch: handler,
    hostname: options.hostname,
    port: options.port,
    manual: true,
    // A library must not print, nor install SIGINT/SIGTERM handlers that
    // would outlive whatever started it.
    silent: true,
    gracefulShutdown: false,
    // Bun.serve closes a connection after 10 s without traffic by default,
    // which would cut a quiet event stream (heartbeatMs 0 or over 10 s) on
    // Bun only; 0 turns that off. tests/cross_runtime/idle_test.ts checks it.
    bun: { idleTimeout: 0 },
  });
  await server.serve();
  const bound = server.url === undefined ? undefined : new URL(server.url);
  if (bound === undefined || bound.port === "") {
    await server.close(true);
    throw new Error(`Cannot tell where the server listens: srvx reported ${server.url}`);
  }
  let closing: Promise<void> | undefined;
  return {
    url: `${bound.protocol}//${bound.host}`,
    port: Number(bound.port),
    close() {
      // Still running on Deno when the grace runs out: it ends with the client.
      closing ??= settlesWithin(server.close(true), CLOSE_GRACE_MS).then(() => {});
      return closing;
    },
  };
}

/**
 * How long {@linkcode HttpServer.close} waits for connections to finish.
 * Node and Bun drop them at once; Deno's `shutdown()` cannot be forced and
 * waits until every written byte was read, which a client that stopped
 * reading never does. Its listening socket is closed already, so the port
 * is free either way.
 */
const CLOSE_GRACE_MS = 1_000;
