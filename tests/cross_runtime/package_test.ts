/**
 * dist/npm is the package JSR's npm layer would serve: `exports` mirror
 * deno.json's (each with `types` and `default` that exist), `dependencies`
 * are the lockfile's exact versions of what the sources import, no emitted
 * module still imports a `.ts` file, and the `bin` runs on every runtime.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { RoleProcess } from "./_process.ts";
import { ROOT, RUNTIMES, runtimes } from "./_runtimes.ts";

const PACKAGE = `${ROOT}/dist/npm`;

async function* files(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* files(path);
    else yield path;
  }
}

Deno.test("dist/npm/package.json mirrors deno.json and pins deno.lock's versions", async () => {
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.lock`));
  const npm = JSON.parse(await Deno.readTextFile(`${PACKAGE}/package.json`));
  assert.equal(npm.name, deno.name);
  assert.equal(npm.version, deno.version);
  assert.equal(npm.type, "module");
  assert.deepEqual(Object.keys(npm.exports), Object.keys(deno.exports));
  for (const [subpath, source] of Object.entries<string>(deno.exports)) {
    const stem = source.replace(/\.ts$/, "");
    assert.deepEqual(npm.exports[subpath], { types: `${stem}.d.ts`, default: `${stem}.js` });
    assert.ok(existsSync(`${PACKAGE}/${stem}.js`) && existsSync(`${PACKAGE}/${stem}.d.ts`));
  }
  assert.deepEqual(Object.keys(npm.bin), ["bus-integration"]);
  // What the entry points import: the core LogTape and the OpenTelemetry API;
  // ./testing jose, srvx and fake timers; ./nats the NATS client. Tests and
  // bench import the rest (the OpenTelemetry SDK, fast-check, …).
  const expected = [
    "@logtape/logtape",
    "@opentelemetry/api",
    "@sinonjs/fake-timers",
    "jose",
    "srvx",
  ];
  if ("./nats" in deno.exports) {
    expected.push(
      "@nats-io/jetstream",
      "@nats-io/kv",
      "@nats-io/nats-core",
      "@nats-io/transport-node",
    );
  }
  assert.deepEqual(Object.keys(npm.dependencies).sort(), expected.sort());
  for (const [name, version] of Object.entries<string>(npm.dependencies)) {
    assert.equal(version, lock.specifiers[deno.imports[name]], name);
  }
});

Deno.test("dist/npm modules import .js, never .ts", async () => {
  const offenders: string[] = [];
  for await (const path of files(PACKAGE)) {
    if (!/\.(js|d\.ts)$/.test(path)) continue;
    // Doc comments keep their examples' spelling; only code lines count.
    const text = (await Deno.readTextFile(path)).split("\n")
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']*)["']/g)) {
      if (!match[1]!.endsWith(".js")) offenders.push(`${path}: ${match[1]}`);
    }
  }
  assert.deepEqual(offenders, []);
});

for (const name of RUNTIMES) {
  Deno.test(`bus-integration --version runs under ${name}`, async () => {
    const runtime = (await runtimes())[name];
    await using cli = new RoleProcess(`cli under ${name}`, runtime.cli(["--version"], {}));
    const status = await cli.exited(30_000);
    assert.equal(status.code, 0, cli.context());
    const { version } = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
    assert.deepEqual(cli.lines.filter((line) => line !== ""), [version]);
  });
}
