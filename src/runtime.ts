/**
 * The core's only runtime-specific reads: the process environment, text
 * files and the home directory, which the `BUS_*` environment contract
 * (`env/`) needs to find its settings and the API token. Everything else the
 * core imports is web-standard; process control (argv, exit, signals,
 * stderr) lives in `cli/process.ts` and serving HTTP in `http_server.ts`,
 * outside the core's module graph.
 *
 * Why this shape: Deno 2, Node and Bun all provide the `process` global and
 * the `node:fs/promises` and `node:os` builtins, so one code path serves all
 * three (Deno still applies its `--allow-env` / `--allow-read` /
 * `--allow-sys` permissions to them). The builtins are loaded with a dynamic
 * `import()` rather than a static one, so that importing the library's entry
 * point still works where they do not exist (browsers, workerd without
 * `nodejs_compat`); only calling these helpers there fails.
 *
 * @module
 */

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

/** The part of `node:events` {@linkcode allowManyListeners} calls. */
interface ListenerLimits {
  setMaxListeners(limit: number, ...targets: EventTarget[]): void;
}

/**
 * Lifts Node's limit of listeners of one type on `target` (past 10 it
 * prints a MaxListenersExceededWarning) through `node:events`'
 * `setMaxListeners(0, target)`, for a signal that many long-lived parts
 * listen to: a host's stop signal, which the library's own listeners and
 * streams watch through one listener (`abort_watch.ts`), and to which a
 * custom transport's subscriptions may add one each.
 * Deno and Bun accept the call and keep no such limit anyway; where the
 * runtime has no `process.getBuiltinModule()` (a browser, Node before
 * 20.16) it does nothing, which costs at most that warning.
 */
export function allowManyListeners(target: EventTarget): void {
  const process = globalThis.process as
    | { getBuiltinModule?: (name: string) => unknown }
    | undefined;
  try {
    (process?.getBuiltinModule?.("node:events") as ListenerLimits | undefined)
      ?.setMaxListeners(0, target);
  } catch {
    // A runtime whose events module refuses this target: the warning is all it costs.
  }
}
