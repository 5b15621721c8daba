/**
 * The `tsc` configurations of the npm build: compile the package, compile
 * the cross-runtime role scripts against the installed package, and check
 * the installed package's declarations on their own.
 *
 * All three type-check with `@types/node` and *no* DOM library: that is what
 * a Node or Bun user's project has, so a declaration that needs a DOM-only
 * type fails here rather than in their editor.
 *
 * @module
 */

import type { BuildTools } from "./tools.ts";

/** Compiler options shared by every step; the strict flags mirror `deno.json`. */
function baseOptions(tools: BuildTools, strict: Record<string, boolean>) {
  return {
    ...strict,
    target: "es2022",
    lib: ["es2023"],
    module: "nodenext",
    moduleResolution: "nodenext",
    types: ["node"],
    typeRoots: [tools.typeRoots],
    // Type-only imports stay type-only: what Deno runs is what Node runs.
    verbatimModuleSyntax: true,
    newLine: "lf",
  };
}

/** Compiles `.ts` sources (with `.ts` import extensions) to `.js` + `.d.ts` in `outDir`. */
export function compileConfig(
  tools: BuildTools,
  strict: Record<string, boolean>,
  files: string[],
  outDir: string,
  declaration: boolean,
): Record<string, unknown> {
  return {
    compilerOptions: {
      ...baseOptions(tools, strict),
      rootDir: ".",
      outDir,
      declaration,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      // Dependencies' declarations are checked by checkConfig() below.
      skipLibCheck: true,
    },
    files,
  };
}

/** Type-checks declaration files as a consumer's `tsc --noEmit` would, libraries included. */
export function checkConfig(
  tools: BuildTools,
  strict: Record<string, boolean>,
  files: string[],
): Record<string, unknown> {
  return {
    compilerOptions: { ...baseOptions(tools, strict), noEmit: true, skipLibCheck: false },
    files,
  };
}
