/**
 * Finding the executables some tests need beside Deno (Bun, `prlimit`),
 * and running a Deno program under a file-descriptor limit. A test whose
 * executable is missing is ignored, never failed.
 *
 * @module
 */

/** The project's deno.json, for programs that live outside the repository's tree. */
export const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** The first of `candidates` that is a file, or `undefined`. */
export function firstFile(candidates: readonly (string | undefined)[]): string | undefined {
  return candidates.find((path) => {
    try {
      return path !== undefined && Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** Where `name` would be in each directory of PATH. */
export function onPath(name: string): string[] {
  return (Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/${name}`);
}

/** Bun where CI names it, where .ci/run installs it, or on PATH. */
export const bun: string | undefined = firstFile([
  Deno.env.get("BUS_CROSS_BUN"),
  new URL("../.ci/tools/bun/node_modules/.bin/bun", import.meta.url).pathname,
  ...onPath("bun"),
]);

/** util-linux's `prlimit` (Debian has it in /usr/bin), or `undefined`. */
export const prlimit: string | undefined = firstFile([...onPath("prlimit"), "/usr/bin/prlimit"]);

/**
 * The arguments for `prlimit` that run `program` under `deno run` with the
 * project's config, network on loopback, environment and reads allowed,
 * at most `descriptors` open files.
 */
export function limitedDenoArgs(
  descriptors: number,
  program: string,
  programArgs: readonly string[] = [],
): string[] {
  return [
    `--nofile=${descriptors}:${descriptors}`,
    Deno.execPath(),
    "run",
    "--config",
    CONFIG,
    "--allow-net=127.0.0.1",
    "--allow-env",
    "--allow-read",
    program,
    ...programArgs,
  ];
}
