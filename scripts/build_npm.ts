// deno-lint-ignore-file no-console -- a build script reports its steps
/**
 * `deno task build:npm`: builds the package as JSR's npm compatibility layer
 * serves it to Node and Bun (`npx jsr add @bus/integration`), so that the
 * cross-runtime suite can prove it runs there:
 *
 * - `dist/npm/`: ES modules and `.d.ts` compiled by `tsc` from the modules
 *   `deno.json`'s exports reach, relative imports rewritten to `.js`, and a
 *   `package.json` whose `exports`, `dependencies` and `bin` follow
 *   `deno.json`, `deno.lock` and `cli.ts`. Declaration files get `.js`
 *   specifiers too (see `scripts/npm/declarations.ts`).
 * - `dist/npm-roles/`: a consumer project that installs `dist/npm` (as a
 *   copy, like a registry tarball) and holds the cross-runtime role scripts
 *   and the hosted example compiled against it.
 * - A `tsc --noEmit` pass over the installed package's declarations with
 *   `@types/node` and no DOM library, as a Node user's project sees them.
 *
 * With `--if-stale` it does nothing when no input changed since the last
 * successful build.
 *
 * ```sh
 * deno task build:npm
 * ```
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { rewriteDeclarations } from "./npm/declarations.ts";
import { type PackageGraph, packageGraph } from "./npm/graph.ts";
import { BIN, BIN_SOURCE, type DenoConfig, entryFiles, packageJson } from "./npm/manifest.ts";
import { reaching } from "./npm/reach.ts";
import { step } from "./npm/run.ts";
import { fingerprint, readStamp } from "./npm/stamp.ts";
import { type BuildTools, ensureBuildTools } from "./npm/tools.ts";
import { checkConfig, compileConfig } from "./npm/tsconfig.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const DIST = join(ROOT, "dist");
const PACKAGE_OUT = join(DIST, "npm");
const ROLES_OUT = join(DIST, "npm-roles");
const STAGE = join(DIST, ".stage");
const STAMP = join(STAGE, "stamp");
/**
 * Scripts run under Node and Bun besides the roles folder: the example the
 * cross-runtime suite hosts, the request/reply benchmark, and the NATS
 * benchmark with the nats-server launcher it starts its server with.
 */
const HOSTED_EXAMPLES = [
  "examples/echo_worker.ts",
  "bench/request_reply.ts",
  "bench/nats.ts",
  "tests/_nats_server.ts",
];
const ROLES_DIR = "tests/cross_runtime/roles";
/** Files shipped next to the code, as JSR does; docs/ too, since the README links its pages. */
const EXTRA_FILES = [
  "README.md",
  "LICENSE",
  ...[...Deno.readDirSync(join(ROOT, "docs"))].filter((entry) => entry.isFile)
    .map((entry) => `docs/${entry.name}`).sort(),
];
const NPM_QUIET = ["--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"];

async function listTs(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${dir}/${entry.name}`);
  }
  return files.sort();
}

/** Copies `files` (relative to the root) into `dir`, each at `place(file)`. */
async function copyInto(dir: string, files: readonly string[], place = (file: string) => file) {
  for (const file of files) {
    const target = join(dir, place(file));
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.copyFile(join(ROOT, file), target);
  }
}

/** Where a role source sits in the consumer project: `roles/x.ts`, `examples/y.ts`. */
function rolePlace(file: string): string {
  return file.replace(`${ROLES_DIR}/`, "roles/");
}

async function writeJson(path: string, value: unknown) {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function removeIfPresent(path: string) {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Runs `tsc -p` on a config written into `dir`. */
async function tsc(tools: BuildTools, dir: string, config: Record<string, unknown>) {
  await writeJson(join(dir, "tsconfig.json"), config);
  await step("node", [tools.tsc, "-p", join(dir, "tsconfig.json")]);
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules") yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

/** What every step needs. */
interface Build {
  config: DenoConfig & { compilerOptions: Record<string, boolean> };
  tools: BuildTools;
}

/** dist/npm: the package's modules compiled by tsc, its manifest, README, LICENSE and bin. */
async function buildPackage({ config, tools }: Build, graph: PackageGraph) {
  console.error(`== compiling ${graph.files.length} modules into dist/npm`);
  const manifest = packageJson(config, graph.dependencies);
  const stage = join(STAGE, "pkg");
  for (const file of graph.files) await removeIfPresent(join(stage, file));
  await copyInto(stage, graph.files);
  // The stage is a package of its own so that tsc resolves the dependencies
  // (and treats the sources as ES modules) exactly as Node will.
  await writeJson(join(stage, "package.json"), manifest);
  await step("npm", ["install", "--omit=dev", "--ignore-scripts", ...NPM_QUIET], { cwd: stage });
  await removeIfPresent(PACKAGE_OUT);
  const out = relative(stage, PACKAGE_OUT);
  await tsc(tools, stage, compileConfig(tools, config.compilerOptions, graph.files, out, true));
  await rewriteDeclarations(PACKAGE_OUT);
  await writeJson(join(PACKAGE_OUT, "package.json"), manifest);
  for (const file of EXTRA_FILES) {
    await Deno.mkdir(dirname(join(PACKAGE_OUT, file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(PACKAGE_OUT, file));
  }
  await Deno.mkdir(dirname(join(PACKAGE_OUT, BIN.path)), { recursive: true });
  await Deno.writeTextFile(join(PACKAGE_OUT, BIN.path), BIN_SOURCE, { mode: 0o755 });
}

/** dist/npm-roles: a consumer project with dist/npm installed as a user would install it. */
async function installPackage({ config }: Build) {
  console.error("== installing dist/npm into dist/npm-roles");
  await writeJson(join(ROLES_OUT, "package.json"), {
    private: true,
    type: "module",
    dependencies: { [config.name]: "file:../npm" },
  });
  // A fresh copy every time: npm would keep a stale one of the same version.
  await removeIfPresent(join(ROLES_OUT, "node_modules", ...config.name.split("/")));
  // --install-links copies the package like a registry tarball (a symlink
  // would resolve its dependencies from dist/npm, where there are none).
  await step("npm", ["install", "--install-links", ...NPM_QUIET], { cwd: ROLES_OUT });
}

/** The role scripts and hosted examples, compiled against the installed package. */
async function buildRoles({ config, tools }: Build, sources: string[]) {
  console.error(`== compiling ${sources.length} role scripts against the installed package`);
  const stage = join(STAGE, "roles");
  await removeIfPresent(stage);
  await copyInto(stage, sources, rolePlace);
  await writeJson(join(stage, "package.json"), { private: true, type: "module" });
  await Deno.symlink(join(ROLES_OUT, "node_modules"), join(stage, "node_modules"));
  for (const dir of ["roles", "examples", "bench"]) await removeIfPresent(join(ROLES_OUT, dir));
  const out = relative(stage, ROLES_OUT);
  const files = sources.map(rolePlace);
  await tsc(tools, stage, compileConfig(tools, config.compilerOptions, files, out, false));
}

/** `tsc --noEmit` over every declaration file of the installed package. */
async function checkDeclarations({ config, tools }: Build) {
  console.error("== tsc --noEmit over the installed declarations with @types/node");
  const installed = join(ROLES_OUT, "node_modules", ...config.name.split("/"));
  const declarations: string[] = [];
  for await (const path of walk(installed)) if (path.endsWith(".d.ts")) declarations.push(path);
  // nats.js's own declarations do not pass exactOptionalPropertyTypes
  // (`MsgImpl implements Msg`): the files that reach them are checked with
  // every other strict flag, in a pass of their own.
  const nats = await reaching(declarations, /^@nats-io\//);
  const reachesNats = (path: string) => nats.has(path);
  const passes = [
    { name: "check", paths: declarations.filter((path) => !reachesNats(path)), strict: {} },
    {
      name: "check-nats",
      paths: declarations.filter(reachesNats),
      strict: { exactOptionalPropertyTypes: false },
    },
  ];
  for (const pass of passes) {
    const stage = join(STAGE, pass.name);
    const files = pass.paths.sort().map((path) => relative(stage, path));
    const strict = { ...config.compilerOptions, ...pass.strict };
    await tsc(tools, stage, checkConfig(tools, strict, files));
  }
}

async function main(args: string[]): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as Build["config"];
  const graph = await packageGraph(ROOT, entryFiles(config));
  const roleSources = [...await listTs(ROLES_DIR), ...HOSTED_EXAMPLES];
  const scripts = [...await listTs("scripts"), ...await listTs("scripts/npm")];
  const inputs = [...graph.files, ...roleSources, ...scripts, ...EXTRA_FILES];
  const stamp = await fingerprint(ROOT, [...inputs, "deno.json", "deno.lock"]);
  if (args.includes("--if-stale") && await readStamp(STAMP) === stamp) {
    console.error("== dist/npm is up to date");
    return;
  }
  await removeIfPresent(STAMP);
  const build: Build = { config, tools: await ensureBuildTools() };
  await buildPackage(build, graph);
  await installPackage(build);
  await buildRoles(build, roleSources);
  await checkDeclarations(build);
  await Deno.writeTextFile(STAMP, `${stamp}\n`);
  console.error(`== built dist/npm (${config.name}@${config.version}) and dist/npm-roles`);
}

await main(Deno.args);
