/**
 * What the package's entry points reach, from Deno's own module graph
 * (`deno info --json`, static and dynamic imports alike): the local source
 * files to compile, and the npm packages to declare as dependencies.
 *
 * A bare specifier is resolved the way Deno resolves it, through
 * `deno.json`'s import map (`"jose": "npm:jose@^6.2.17"` → `jose`), and pinned
 * to the exact version `deno.lock` recorded for that entry, so Node and Bun
 * users run what the Deno tests ran.
 *
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { capture } from "./run.ts";

/** The part of `deno info --json` read here. */
interface DenoInfo {
  modules: Array<{
    specifier: string;
    dependencies?: Array<{
      specifier: string;
      code?: { specifier?: string };
      type?: { specifier?: string };
    }>;
  }>;
}

/** The package's closure. */
export interface PackageGraph {
  /** Local source files, relative to the root, sorted. */
  files: string[];
  /** npm dependencies: name → exact version. */
  dependencies: Record<string, string>;
}

/** `npm:@scope/name@^1.2.3/sub` → `npm:@scope/name@^1.2.3`, the key `deno.lock` pins. */
export function npmRequirement(specifier: string): string {
  const parts = specifier.replace(/^npm:\/?/, "").split("/");
  return `npm:${parts.slice(0, parts[0]!.startsWith("@") ? 2 : 1).join("/")}`;
}

/** `npm:@scope/name@^1.2.3/sub` → `@scope/name`. */
export function npmPackageName(specifier: string): string {
  const requirement = npmRequirement(specifier).slice("npm:".length);
  const at = requirement.indexOf("@", 1);
  return at < 0 ? requirement : requirement.slice(0, at);
}

/**
 * Walks the graph of `entries` (paths relative to `root`).
 *
 * @throws {Error} On a dependency that is neither local, `node:` nor
 * `npm:` (a `jsr:` or `https:` import cannot be served from npm), and on an
 * npm import that `deno.lock` does not pin.
 */
export async function packageGraph(root: string, entries: string[]): Promise<PackageGraph> {
  const lock = JSON.parse(await Deno.readTextFile(`${root}/deno.lock`)) as {
    specifiers: Record<string, string>;
  };
  const files = new Set<string>();
  const dependencies: Record<string, string> = {};
  for (const entry of entries) {
    const info = JSON.parse(
      await capture(Deno.execPath(), ["info", "--json", entry], root),
    ) as DenoInfo;
    for (const module of info.modules) {
      if (module.specifier.startsWith("file:")) {
        files.add(relative(root, fileURLToPath(module.specifier)));
      }
      for (const dependency of module.dependencies ?? []) {
        // `type` alone: an `import type`, which tsc erases but may still need.
        const resolved = dependency.code?.specifier ?? dependency.type?.specifier;
        if (resolved === undefined) continue; // unresolvable: a runtime-computed import()
        if (resolved.startsWith("file:") || resolved.startsWith("node:")) continue;
        if (!resolved.startsWith("npm:")) {
          throw new Error(
            `Cannot build for npm: ${module.specifier} imports ${resolved}, which npm cannot serve`,
          );
        }
        const version = lock.specifiers[npmRequirement(resolved)];
        if (version === undefined) {
          throw new Error(`Cannot build for npm: deno.lock does not pin ${resolved}`);
        }
        dependencies[npmPackageName(resolved)] = version.replace(/_.*$/, "");
      }
    }
  }
  const outside = [...files].filter((file) => file.startsWith(".."));
  if (outside.length > 0) {
    throw new Error(`Cannot build for npm: modules outside the package: ${outside.join(", ")}`);
  }
  return { files: [...files].sort(), dependencies: sortKeys(dependencies) };
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
