/**
 * The CLI's hold on its process: command-line arguments, exit, the shutdown
 * signals, raw standard error, whether a module is the entry point, and the
 * `file:` URL of a path the user named. Only `cli.ts` and `src/cli/` import
 * it; the core never controls the process it runs in.
 *
 * Deno 2, Node and Bun all provide `node:process` and `node:url`, so one code
 * path serves all three. The builtins are imported on a helper's first call,
 * as in `../runtime.ts`; here that is only for consistency, since the CLI
 * runs only where they exist.
 *
 * @module
 */

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
