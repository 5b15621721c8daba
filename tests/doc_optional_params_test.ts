/**
 * `deno doc` prints a parameter with a default value (`options = {}`) as
 * required (`options: Options`), so every public signature spells optional
 * parameters with `?` and applies its default in the body. This keeps it so.
 */
import assert from "node:assert/strict";

const ENTRY_POINTS = ["mod.ts", "testing.ts", "cli.ts", "nats.ts", "decode.ts"];

/** The dotted paths (`Class.method`) of every parameter with a default value in `node`. */
function defaultedParams(node: unknown, path: string, found: string[]): string[] {
  if (Array.isArray(node)) {
    for (const item of node) defaultedParams(item, path, found);
  } else if (node !== null && typeof node === "object") {
    const record = node as Record<string, unknown>;
    if (record.kind === "assign") found.push(path);
    const name = typeof record.name === "string" ? `${path}.${record.name}` : path;
    for (const [key, value] of Object.entries(record)) {
      if (key !== "left") defaultedParams(value, name, found);
    }
  }
  return found;
}

Deno.test("deno doc shows every optional parameter of the public API as optional", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...ENTRY_POINTS],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const doc = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual([...new Set(defaultedParams(doc, "", []))], []);
});

Deno.test("defaultedParams() finds a parameter with a default value", () => {
  const node = {
    name: "Thing",
    classDef: { constructors: [{ name: "constructor", params: [{ kind: "assign", left: {} }] }] },
  };
  assert.deepEqual(defaultedParams(node, "", []), [".Thing.constructor"]);
});
