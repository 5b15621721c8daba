/**
 * Serves a `fetch` handler over HTTP on Deno, Node and Bun through srvx.
 *
 * @module
 */

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
export interface HttpListener {
  /** The site root, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /**
   * Stops listening and drops every connection, idle or not, so the port
   * is free again when the promise resolves.
   */
  close(): Promise<void>;
}

/** Starts listening with `handler`; resolves once the port is bound. */
export async function listen(
  handler: (request: Request) => Promise<Response>,
  options: ServeOptions = {},
): Promise<HttpListener> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Cannot listen on port ${port}: expected an integer 0-65535`);
  }
  // srvx reads the environment (PORT, HOST, NO_COLOR, TERM) when it loads;
  // loading it only here keeps in-process `fetch` use free of env access.
  const { serve } = await import("srvx");
  const server = serve({
    fetch: handler,
    hostname,
    port,
    manual: true,
    // A library must not print, nor install SIGINT/SIGTERM handlers that
    // would outlive the test that started it.
    silent: true,
    gracefulShutdown: false,
  });
  await server.serve();
  const bound = server.url === undefined ? undefined : new URL(server.url);
  if (bound === undefined || bound.port === "") {
    await server.close(true);
    throw new Error(`Cannot tell where the server listens: srvx reported ${server.url}`);
  }
  const url = `${bound.protocol}//${bound.host}`;
  const boundPort = Number(bound.port);
  let closing: Promise<void> | undefined;
  return {
    url,
    port: boundPort,
    close() {
      closing ??= closeWithin(server.close(true), CLOSE_GRACE_MS);
      return closing;
    },
  };
}

/**
 * How long {@linkcode HttpListener.close} waits for connections to finish.
 * Node and Bun drop them at once; Deno's `shutdown()` cannot be forced and
 * waits until every written byte was read, which a client that stopped
 * reading never does. Its listening socket is closed already, so the port
 * is free either way.
 */
const CLOSE_GRACE_MS = 1_000;

async function closeWithin(closing: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([closing, grace]);
  } finally {
    clearTimeout(timer);
  }
  // Still running on Deno when the grace ran out: it ends with the client.
  closing.catch(() => {});
}
