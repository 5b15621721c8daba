/**
 * Points the emitted declaration files' relative imports at `.js`.
 *
 * `rewriteRelativeImportExtensions` rewrites `./x.ts` to `./x.js` in the
 * emitted JavaScript only; tsc writes declaration files with the specifiers
 * as the source spelled them. TypeScript ≥ 5 resolves those, but older
 * compilers and other tools reading the types do not, and JSR's npm tarballs
 * say `.js` too. Declaration emit is regular (`from "./x.ts"`,
 * `import("./x.ts")`), so a specifier-only rewrite suffices; the build's
 * `tsc --noEmit` pass then checks the result.
 *
 * @module
 */

import { join } from "node:path";

const RELATIVE_TS = /(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*?)\.ts\2/g;

/** `source` with every relative `.ts` module specifier ending in `.js`. */
export function withJsSpecifiers(source: string): string {
  return source.replace(RELATIVE_TS, (_, lead, quote, path) => `${lead}${quote}${path}.js${quote}`);
}

/** Rewrites every `.d.ts` file under `dir` in place. */
export async function rewriteDeclarations(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await rewriteDeclarations(path);
    else if (entry.name.endsWith(".d.ts")) {
      await Deno.writeTextFile(path, withJsSpecifiers(await Deno.readTextFile(path)));
    }
  }
}
