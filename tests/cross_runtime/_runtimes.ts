/**
 * The five runtimes of the cross-runtime suite and how each runs a role, the
 * CLI and a hosted module: Deno from source; Node 22, Node 24, Node 26 and
 * Bun from the npm build in `dist/npm-roles` (run `deno task build:npm`
 * first; `deno task test:cross` does).
 *
 * Executables: `$BUS_CROSS_NODE22`, `$BUS_CROSS_NODE24` and
 * `$BUS_CROSS_NODE26` (default: `.ci/tools/node22` … `node26`, where
 * `.ci/run` installs the npm packages `node@22`, `node@24`, `node@26`),
 * `$BUS_CROSS_BUN` (default: `.ci/tools/bun`, else `bun` on PATH). The
 * machine's own `node` is none of them unless a variable points at it. Each
 * must report the expected major version, so a PATH mix-up fails loudly
 * instead of testing the wrong thing.
 *
 * @module
 */

import { existsSync } from "node:fs";
import type { Spawn } from "./_process.ts";
import { baseEnv } from "../_child.ts";
import { bun } from "../_executables.ts";

/** The repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const ROLES_OUT = `${ROOT}/dist/npm-roles`;

/** A runtime's short name. */
export type RuntimeName = "deno" | "node22" | "node24" | "node26" | "bun";

/** Every runtime, in the order the suite reports them. */
export const RUNTIMES: readonly RuntimeName[] = ["deno", "node22", "node24", "node26", "bun"];

/** How one runtime runs the suite's programs. */
export interface Runtime {
  readonly name: RuntimeName;
  /** The executable. */
  readonly executable: string;
  /** What a role reports as its runtime, e.g. `node 24.`; a prefix. */
  readonly label: string;
  /** A role script (`worker`, `requester`, `server`). */
  role(role: string, env: Record<string, string>): Spawn;
  /** `bus-integration …`. */
  cli(args: string[], env: Record<string, string>): Spawn;
  /** The path a hosted module is given to the CLI as: `examples/echo_worker.ts` or its build. */
  module(source: string): string;
}

function executableOf(name: RuntimeName): string {
  switch (name) {
    case "deno":
      return Deno.execPath();
    case "node22":
    case "node24":
    case "node26":
      return Deno.env.get(`BUS_CROSS_${name.toUpperCase()}`) ??
        `${ROOT}/.ci/tools/${name}/node_modules/.bin/node`;
    case "bun":
      // A BUS_CROSS_BUN that names no file is used as it is, so the version check fails loudly.
      return Deno.env.get("BUS_CROSS_BUN") ?? bun ?? "bun";
  }
}

const EXPECTED_VERSION: Record<RuntimeName, RegExp> = {
  deno: /^deno 2\./,
  node22: /^v22\./,
  node24: /^v24\./,
  node26: /^v26\./,
  bun: /^1\./,
};

const LABEL: Record<RuntimeName, string> = {
  deno: "deno ",
  node22: "node 22.",
  node24: "node 24.",
  node26: "node 26.",
  bun: "bun ",
};

/** Which runtime a role's reported label (`node 24.21.0`) stands for. */
export function nameOfLabel(label: string): RuntimeName | undefined {
  return RUNTIMES.find((name) => label.startsWith(LABEL[name]));
}

/** Checks that `executable --version` is the major version `name` stands for. */
async function checkVersion(name: RuntimeName, executable: string): Promise<void> {
  let version: string;
  try {
    const output = await new Deno.Command(executable, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    version = new TextDecoder().decode(output.stdout).trim().split("\n")[0]!;
  } catch (error) {
    throw new Error(
      `Cannot run ${name} (${executable}): ${error instanceof Error ? error.message : error}; ` +
        "install it with bash .ci/run's steps or set BUS_CROSS_" + name.toUpperCase(),
    );
  }
  if (!EXPECTED_VERSION[name].test(version)) {
    throw new Error(`Cannot use ${executable} as ${name}: it reports ${version}`);
  }
}

/** The dist build the Node and Bun runs need; missing means the build did not run. */
function checkBuild(): void {
  if (!existsSync(`${ROLES_OUT}/roles/worker.js`)) {
    throw new Error(`Cannot find ${ROLES_OUT}/roles/worker.js: run deno task build:npm first`);
  }
}

const DENO_RUN = [
  "run",
  "--allow-net=127.0.0.1",
  "--allow-env",
  "--allow-read",
  "--allow-sys",
];

function runtime(name: RuntimeName, executable: string): Runtime {
  const spawn = (args: string[], env: Record<string, string>): Spawn => ({
    command: executable,
    args,
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
  });
  if (name === "deno") {
    return {
      name,
      executable,
      label: LABEL[name],
      role: (role, env) => spawn([...DENO_RUN, `tests/cross_runtime/roles/${role}.ts`], env),
      cli: (args, env) => spawn([...DENO_RUN, "cli.ts", ...args], env),
      module: (source) => source,
    };
  }
  return {
    name,
    executable,
    label: LABEL[name],
    role: (role, env) => spawn([`${ROLES_OUT}/roles/${role}.js`], env),
    // The bin a user's `npx bus-integration` runs (node_modules/.bin links to it).
    cli: (args, env) => spawn([`${ROLES_OUT}/node_modules/.bin/bus-integration`, ...args], env),
    module: (source) =>
      `${ROLES_OUT}/${
        source.replace(/^tests\/cross_runtime\/roles\//, "roles/").replace(/\.ts$/, ".js")
      }`,
  };
}

let resolved: Promise<Record<RuntimeName, Runtime>> | undefined;

/** The runtimes, checked once per test process. */
export function runtimes(): Promise<Record<RuntimeName, Runtime>> {
  resolved ??= (async () => {
    checkBuild();
    const entries = await Promise.all(RUNTIMES.map(async (name) => {
      const executable = executableOf(name);
      await checkVersion(name, executable);
      return [name, runtime(name, executable)] as const;
    }));
    return Object.fromEntries(entries) as Record<RuntimeName, Runtime>;
  })();
  return resolved;
}
