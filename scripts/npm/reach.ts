/**
 * Which declaration files reach a package: through their own imports or
 * those of the declaration files they import, transitively. The npm build
 * checks the files that reach nats.js in a pass of their own, since
 * nats.js's declarations do not pass every strict flag the others do.
 *
 * @module
 */

import { dirname, join } from "node:path";

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*)["']([^"']+)["']/g;

/** The paths among `paths` (`.d.ts` files) whose import graph reaches a specifier matching `target`. */
export async function reaching(paths: readonly string[], target: RegExp): Promise<Set<string>> {
  const found = new Set<string>();
  const imports = new Map<string, string[]>();
  for (const path of paths) {
    const specifiers = [...(await Deno.readTextFile(path)).matchAll(SPECIFIER)].map((m) => m[1]!);
    if (specifiers.some((specifier) => target.test(specifier))) found.add(path);
    imports.set(
      path,
      specifiers.filter((specifier) => specifier.startsWith("."))
        .map((specifier) => join(dirname(path), specifier.replace(/\.js$/, ".d.ts"))),
    );
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const [path, dependencies] of imports) {
      if (!found.has(path) && dependencies.some((dependency) => found.has(dependency))) {
        found.add(path);
        grew = true;
      }
    }
  }
  return found;
}
