/**
 * The one module in `src/` that touches runtime specifics: the process
 * environment, the file system, the home directory, signals, exit, standard
 * error and serving HTTP. Everything else in `src/` is web-standard and
 * reaches these only through this file.
 *
 * Why this shape: Deno 2, Node and Bun all provide the `process` global and
 * the `node:fs/promises` and `node:os` builtins, so one code path serves all
 * three (Deno still applies its `--allow-env` / `--allow-read` /
 * `--allow-sys` permissions to them). The builtins are loaded with a dynamic
 * `import()` rather than a static one, so that importing the library's entry
 * point still works where they do not exist (browsers, workerd without
 * `nodejs_compat`); only calling these helpers there fails. For the same
 * reason `srvx` (the one `serve()` for Deno, Node and Bun) is imported
 * lazily, so the library's entry point does not load it.
 *
 * @module
 */

import { settlesWithin } from "./async.ts";

/**
 * The process environment as a read-only view: each lookup reads the live
 * value, and an unset variable reads as `undefined`. Where there is no
 * process environment (a browser), every variable reads as unset.
 *
 * On Deno a lookup needs `--allow-env` for that variable and throws Deno's
 * `NotCapable` error without it; the error is left to say so.
 */
export function readEnv(): Readonly<Record<string, string | undefined>> {
  return globalThis.process?.env ?? {};
}

/**
 * Reads a whole file as UTF-8 text.
 *
 * @throws {Error} The runtime's file error, with a Node-style `code`
 * (`ENOENT`, `EACCES`, `EISDIR`) where the runtime sets one.
 */
export async function readTextFile(path: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return await readFile(path, "utf8");
}

/**
 * The current user's home directory as the operating system reports it
 * (Deno needs `--allow-sys=homedir`). Callers that hold an environment
 * object should prefer its `HOME` and use this only as the fallback.
 */
export async function homeDir(): Promise<string> {
  const { homedir } = await import("node:os");
  return homedir();
}

/** A signal that asks the process to stop. */
export type ShutdownSignal = "SIGINT" | "SIGTERM";

/**
 * Calls `handler` on every SIGINT and SIGTERM instead of the default
 * termination, through `node:process`, which Deno, Node and Bun all provide.
 * Returns the function that removes the handlers (and so restores the
 * default behaviour).
 */
export async function onShutdownSignal(
  handler: (signal: ShutdownSignal) => void,
): Promise<() => void> {
  const { default: process } = await import("node:process");
  const installed = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => handler(signal);
    process.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of installed) process.off(signal, listener);
  };
}

/** Ends the process with `code` (Deno, Node and Bun all implement `process.exit`). */
export async function exitProcess(code: number): Promise<never> {
  const { default: process } = await import("node:process");
  return process.exit(code);
}

/**
 * Whether the module that owns `meta` is the program's entry point. Deno,
 * Bun and Node ≥ 24.2 set `import.meta.main`; Node 20 and 22 leave it
 * undefined, which reads as "not the entry" here, so importing a module never
 * runs it by accident (the npm package's `bin` runs the CLI on those).
 * `@types/node` before 24 does not declare the property, hence the cast.
 */
export function isMainModule(meta: ImportMeta): boolean {
  return (meta as { main?: unknown }).main === true;
}

/** The command-line arguments after the script (`process.argv` minus runtime and script). */
export async function commandLineArgs(): Promise<string[]> {
  const { default: process } = await import("node:process");
  return process.argv.slice(2);
}

/** Standard error as a text sink that knows whether it is a terminal. */
export interface StderrWriter {
  /** Whether stderr is a TTY (progress bars make sense). */
  readonly isTerminal: boolean;
  /** Terminal width in columns, when it is one. */
  readonly columns: number | undefined;
  /** Writes `text` as it is (no newline added). */
  write(text: string): void;
}

/** Opens standard error for raw writes, e.g. a progress bar's `\r` updates. */
export async function stderrWriter(): Promise<StderrWriter> {
  const { default: process } = await import("node:process");
  const stderr = process.stderr;
  return {
    isTerminal: stderr.isTTY === true,
    columns: stderr.isTTY === true ? stderr.columns : undefined,
    write: (text) => void stderr.write(text),
  };
}

/** The `file:` URL of a path, resolved against the current directory. */
export async function fileUrlFromPath(path: string): Promise<string> {
  const { pathToFileURL } = await import("node:url");
  return pathToFileURL(path).href;
}

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
  // loading it only here keeps in-process use free of env access.
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
