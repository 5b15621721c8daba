/**
 * The CLI's hold on its process: command-line arguments, exit, the shutdown
 * signals, the parent's process id, raw standard error, whether a module is
 * the entry point, the `file:` URL of a path the user named, and running the
 * same runtime again as a child. Only `cli.ts` and `src/cli/` import it; the
 * core never controls the process it runs in.
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
 * Reads the parent's process id as it is now: Deno, Node and Bun all read
 * `process.ppid` afresh on every access, so it changes to the reaper's id
 * (1, or a subreaper's) once the parent has died.
 */
export async function parentPidReader(): Promise<() => number> {
  const { default: process } = await import("node:process");
  return () => process.ppid;
}

/** Which runtime runs this process. */
export type RuntimeKind = "deno" | "bun" | "node";

/** The runtime that runs this process, from `process.versions`. */
export async function runtimeKind(): Promise<RuntimeKind> {
  const { default: process } = await import("node:process");
  const versions = process.versions as Record<string, string | undefined>;
  return versions.deno ? "deno" : versions.bun ? "bun" : "node";
}

/** What a child run of this runtime ended with. */
export interface ChildOutcome {
  /** Exit status; `null` when a signal (or the timeout) ended it. */
  code: number | null;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/**
 * Runs this process's own runtime executable with `args` (stdin closed,
 * stdout discarded) and resolves with its exit status and stderr; it is
 * killed after `timeoutMs`.
 */
export async function runSameRuntime(args: string[], timeoutMs: number): Promise<ChildOutcome> {
  const [{ default: process }, { execFile }] = await Promise.all([
    import("node:process"),
    import("node:child_process"),
  ]);
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      args,
      { timeout: timeoutMs, encoding: "utf8", maxBuffer: 1 << 20 },
      (error, _stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stderr });
      },
    );
    child.stdin?.end();
  });
}

/**
 * Whether the module that owns `meta` is the program's entry point. Deno,
 * Bun, Node ≥ 22.18 and Node ≥ 24.2 set `import.meta.main`; older Node 22
 * releases leave it undefined, which reads as "not the entry" here, so
 * importing a module never runs it by accident (the npm package's `bin`
 * runs the CLI there); `=== true` reads that `undefined` as false.
 */
export function isMainModule(meta: ImportMeta): boolean {
  return meta.main === true;
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

/** The path of a `file:` URL (other URLs come back as they are). */
export async function pathFromUrl(url: string): Promise<string> {
  if (!url.startsWith("file:")) return url;
  const { fileURLToPath } = await import("node:url");
  return fileURLToPath(url);
}
