/**
 * Only src/runtime.ts (environment, files, home directory) and
 * src/cli/process.ts (argv, exit, signals, stderr) may touch runtime
 * specifics (`Deno.*`, `Bun.*`, the `process` global): everything else in
 * src/ is web-standard, which is what lets one code base run on Deno, Node
 * and Bun (see docs/runtimes.md, "Runtime differences"). Comments and strings may
 * still name them.
 */
import assert from "node:assert/strict";
import { codeOnly } from "./_code_only.ts";

const ALLOWED = ["src/runtime.ts", "src/cli/process.ts"];
/**
 * `Deno` / `Bun` as identifiers, `process` unless it is a property name
 * (`x.process`, `{ process: … }`), and all three read off `globalThis`.
 */
const RUNTIME_SPECIFIC =
  /(?<![\w$.])(Deno|Bun)(?![\w$])|(?<![\w$.])process(?![\w$]|\s*:)|globalThis\s*\??\.\s*(Deno|Bun|process)(?![\w$])/g;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** `file:line: text` for each runtime-specific use in `source`. */
function findings(path: string, source: string): string[] {
  const code = codeOnly(source);
  const found: string[] = [];
  for (const match of code.matchAll(RUNTIME_SPECIFIC)) {
    const line = code.slice(0, match.index).split("\n").length;
    found.push(`${path}:${line}: ${source.split("\n")[line - 1]!.trim()}`);
  }
  return found;
}

Deno.test("src/ touches Deno, Bun and process only in runtime.ts and cli/process.ts", async () => {
  const found: string[] = [];
  let scanned = 0;
  for await (const path of sourceFiles("src")) {
    if (ALLOWED.includes(path)) continue;
    scanned++;
    found.push(...findings(path, await Deno.readTextFile(path)));
  }
  assert.ok(scanned > 20, `scanned only ${scanned} files`);
  assert.deepEqual(found, [], "move these behind src/runtime.ts or src/cli/process.ts");
});

Deno.test("the runtime boundary scan finds code, not comments or strings", () => {
  const source = [
    "// Deno.serve in a comment",
    "/** Bun.serve({ fetch }) in a doc */",
    'const inspect = Symbol.for("Deno.customInspect");',
    "const text = `process ${1 + 1} Bun`;",
    "const options = { process: 1 }; options.process;",
    "const pattern = /Deno/g;",
    "const env = process.env.HOME;",
    "const args = Deno.args;",
    "const version = globalThis.Bun?.version;",
    "const nested = `${`${process.pid}`}`;",
  ].join("\n");
  assert.deepEqual(findings("x.ts", source).map((line) => line.split(":")[1]), [
    "7",
    "8",
    "9",
    "10",
  ]);
  // Each allowed file really does use them, so the pattern can see them.
  for (const path of ALLOWED) {
    assert.ok(findings(path, Deno.readTextFileSync(path)).length > 0, path);
  }
});
