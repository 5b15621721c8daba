/**
 * Serves a `fetch` handler over HTTP on Deno, Node and Bun through srvx.
 *
 * @module
 */

import { type HttpServer, serveHttp } from "../http_server.ts";

/** Where a listener binds. */
export interface ServeOptions {
  /**
   * Host name or address to bind; keep it on loopback for tests.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * TCP port; `0` picks a free one.
   *
   * @default {0}
   */
  port?: number;
}

/** A bound HTTP listener. */
export type HttpListener = HttpServer;

/** Starts listening with `handler`; resolves once the port is bound. */
export function listen(
  handler: (request: Request) => Promise<Response>,
  options: ServeOptions = {},
): Promise<HttpListener> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    return Promise.reject(
      new RangeError(`Cannot listen on port ${port}: expected an integer 0-65535`),
    );
  }
  return serveHttp(handler, { hostname: options.hostname ?? "127.0.0.1", port });
}
