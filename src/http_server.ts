/**
 * Serving a `fetch` handler over HTTP on Deno, Node and Bun, through srvx
 * (the one `serve()` for all three). This is a leaf outside the core's
 * module graph: only `src/cli/` (the host's health endpoints) and
 * `src/testing/` (the reference server) import it, so `mod.ts` never reaches
 * srvx and the core depends on LogTape alone. A `Host` that an application
 * embeds is served with whatever server the application already runs.
 *
 * A server whose accept loop dies (Deno's, out of file descriptors) listens
 * again on its port after a backoff, logging why (`keep_accepting.ts`);
 * the connections it had accepted go on meanwhile.
 *
 * @module
 */

import { settlesWithin } from "./async.ts";
import { keepAccepting } from "./keep_accepting.ts";

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
  const listen = async (port: number) => {
    const server = serve({
      fetch: handler,
      hostname: options.hostname,
      port,
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
    return server;
  };
  const first = await listen(options.port);
  const bound = first.url === undefined ? undefined : new URL(first.url);
  if (bound === undefined || bound.port === "") {
    await first.close(true);
    throw new Error(`Cannot tell where the server listens: srvx reported ${first.url}`);
  }
  const url = `${bound.protocol}//${bound.host}`;
  const port = Number(bound.port);
  // The server listening now and those whose accept loop died before it,
  // which still serve the connections they accepted.
  const servers = [first];
  const closed = new AbortController();
  const closeOne = (server: typeof first) => settlesWithin(server.close(true), CLOSE_GRACE_MS);
  keepAccepting({
    url,
    first,
    endOf: (server) => (server as DenoServed).deno?.server?.finished,
    listen: () => listen(port),
    adopt(server) {
      servers.push(server);
      if (closed.signal.aborted) void closeOne(server);
    },
    signal: closed.signal,
  });
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closed.abort();
      // Still running on Deno when the grace runs out: it ends with the client.
      closing ??= Promise.all(servers.map(closeOne)).then(() => {});
      return closing;
    },
  };
}

/** What srvx's Deno server shows of the `Deno.serve` server under it: the end of its accept loop. */
type DenoServed = { deno?: { server?: { finished?: Promise<void> } } };

/**
 * How long {@linkcode HttpServer.close} waits for connections to finish.
 * Node and Bun drop them at once; Deno's `shutdown()` cannot be forced and
 * waits until every written byte was read, which a client that stopped
 * reading never does. Its listening socket is closed already, so the port
 * is free either way.
 */
const CLOSE_GRACE_MS = 1_000;
