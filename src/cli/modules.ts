/**
 * Loads integration modules named on the command line and collects the
 * registrations they export.
 *
 * @module
 */

import { assertRegistration, type WorkerRegistration } from "../registration.ts";
import {
  type ChildOutcome,
  fileUrlFromPath,
  pathFromUrl,
  runSameRuntime,
  runtimeKind,
} from "./process.ts";

/**
 * A module specifier as the user wrote it is a URL when it starts with a
 * scheme of two or more letters (`file:`, `https:`, `jsr:`, `npm:`); one
 * letter is a Windows drive (`C:\…`), so a path.
 */
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:/;

/** The URL to import for a module argument: URLs as they are, paths from the current directory. */
export async function moduleUrl(specifier: string): Promise<string> {
  return URL_SCHEME.test(specifier) ? specifier : await fileUrlFromPath(specifier);
}

/**
 * The registrations of one module namespace: its `registrations` export (an
 * array), else its default export (one registration or an array).
 *
 * @throws {TypeError} When it exports neither, or one of them is malformed.
 */
export function registrationsOf(
  namespace: Record<string, unknown>,
  specifier: string,
): WorkerRegistration[] {
  let exported: unknown;
  let exportName: string;
  if (namespace.registrations !== undefined) {
    exported = namespace.registrations;
    exportName = "registrations";
    if (!Array.isArray(exported)) {
      throw new TypeError(
        `Cannot load module ${specifier}: its "registrations" export is not an array`,
      );
    }
  } else if (namespace.default !== undefined) {
    exported = namespace.default;
    exportName = "default";
  } else {
    throw new TypeError(
      `Cannot load module ${specifier}: it exports neither "registrations" nor a default registration`,
    );
  }
  const list = Array.isArray(exported) ? exported : [exported];
  if (list.length === 0) {
    throw new TypeError(`Cannot load module ${specifier}: its ${exportName} export is empty`);
  }
  return list.map((value, index) => {
    const where = Array.isArray(exported)
      ? `${exportName}[${index}] of ${specifier}`
      : `the ${exportName} export of ${specifier}`;
    assertRegistration(value, where);
    return value;
  });
}

/** The package's root: frames in its `src/`, `bin/` and `cli` are ours, not the user's module. */
const OWN_ROOT = new URL("../../", import.meta.url).href;
/** Whether a stack frame's URL is one of the package's own modules. */
function isOwnFrame(url: string): boolean {
  if (!url.startsWith(OWN_ROOT)) return false;
  const inside = url.slice(OWN_ROOT.length);
  return /^(?:src\/|bin\/|cli\.[jt]s$)/.test(inside);
}

/** Deno colours the locations in its messages when it writes to a terminal. */
// deno-lint-ignore no-control-regex -- ESC is what starts a colour code
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

/** `at file:///x/y.ts:3:30` in a message or a stack: where the error happened. */
const FRAME = /\b((?:file|https?):\/\/[^\s()]+?):(\d+):(\d+)\)?\s*$/gm;

/** `file:///x/y.js:3` alone on a line: how Node prints where a syntax error is. */
const NODE_SYNTAX_LOCATION = /^((?:file:\/\/|\/)\S+?):(\d+)$/m;

/** How long a second run may take to say where a syntax error is. */
const RERUN_TIMEOUT_MS = 10_000;

/** Runs the current runtime on `args`: only given where errors lack locations (Node). */
export type Rerun = (args: string[]) => Promise<ChildOutcome>;

/**
 * Where a module failed to load, as `path:line[:column]`, when the error or
 * the runtime can tell.
 *
 * - Deno puts `at <url>:<line>:<column>` into the message of a syntax error
 *   (and of an import that does not resolve); a module that throws while it
 *   runs has that frame in its stack, on every runtime.
 * - Bun's `BuildMessage` carries `position: { file, line, column }`.
 * - Node's syntax errors carry neither: only its printer for uncaught errors
 *   shows `file:///…:3`. So on Node (`rerun` given) the import is run again
 *   in a child of the same runtime and that line read from its stderr. A
 *   syntax error anywhere in the module graph stops the graph before any of
 *   it runs, so the child runs none of the user's code.
 */
export async function loadErrorLocation(
  error: unknown,
  url: string,
  rerun?: Rerun,
): Promise<string | undefined> {
  if (!(error instanceof Error)) return undefined;
  const position = (error as { position?: { file?: unknown; line?: unknown; column?: unknown } })
    .position;
  if (typeof position?.file === "string" && typeof position.line === "number") {
    return `${position.file}:${position.line}:${position.column}`;
  }
  for (const text of [error.message, error.stack ?? ""]) {
    for (const [, frame, line, column] of text.replace(ANSI_COLOUR, "").matchAll(FRAME)) {
      if (!isOwnFrame(frame!)) return `${await pathFromUrl(frame!)}:${line}:${column}`;
    }
  }
  if (error.name !== "SyntaxError" || rerun === undefined) return undefined;
  const { stderr } = await rerun(["--input-type=module", "-e", IMPORT_ARGUMENT, url]);
  const found = NODE_SYNTAX_LOCATION.exec(stderr);
  return found ? `${await pathFromUrl(found[1]!)}:${found[2]}` : undefined;
}

/** The child's program: import the URL it is given, and let Node print the failure. */
const IMPORT_ARGUMENT = "await import(process.argv[1])";

/** `SyntaxError: Unexpected token ';'`: the error's first line, named. */
function describeLoadError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const first = error.message.split("\n", 1)[0]!;
  if (/^[A-Z]\w*Error: /.test(first)) return first; // Deno's messages start with the name
  if (error.name === "Error") return first;
  // Bun reports a module it cannot parse as a BuildMessage.
  return `${error.name === "BuildMessage" ? "SyntaxError" : error.name}: ${first}`;
}

/**
 * Imports every module and returns all their registrations in order.
 *
 * @throws {Error} Naming the module that failed to import or to export
 * registrations, and for a syntax error the file and line.
 */
export async function loadRegistrations(
  specifiers: readonly string[],
): Promise<WorkerRegistration[]> {
  const all: WorkerRegistration[] = [];
  const rerun: Rerun | undefined = await runtimeKind() === "node"
    ? (args) => runSameRuntime(args, RERUN_TIMEOUT_MS)
    : undefined;
  for (const specifier of specifiers) {
    let namespace: Record<string, unknown>;
    const url = await moduleUrl(specifier);
    try {
      // The user's module is unknown until run time: `deno publish` warns
      // that it cannot analyze this import, which is the point.
      namespace = await import(url);
    } catch (cause) {
      const where = await loadErrorLocation(cause, url, rerun);
      const reason = describeLoadError(cause);
      throw new Error(
        `Cannot load module ${specifier}: ${where === undefined ? "" : `${where}: `}${reason}`,
        { cause },
      );
    }
    all.push(...registrationsOf(namespace, specifier));
  }
  return all;
}
