/**
 * The compiler and Node's type declarations the npm build uses, installed
 * from the npm registry into a per-user cache directory (never into the
 * repository), once per pinned version.
 *
 * @module
 */

import { join } from "node:path";
import { step } from "./run.ts";

/**
 * TypeScript ≥ 5.7 has `rewriteRelativeImportExtensions`; 6.0.3 is also the
 * version Deno 2.9 checks with, so both compilers agree on the source.
 */
const TYPESCRIPT = "6.0.3";
/** Node 22 is the oldest Node the package supports, so its types are the ones to pass. */
const TYPES_NODE = "22.20.7";

/** Where the build tools live and how to call them. */
export interface BuildTools {
  /** The `tsc` script, run with `node`. */
  tsc: string;
  /** The `@types` folder holding `@types/node`, for `typeRoots`. */
  typeRoots: string;
}

/** The cache directory: `$BUS_BUILD_TOOLS_DIR`, else under `$XDG_CACHE_HOME` or `~/.cache`. */
function toolsDir(): string {
  const explicit = Deno.env.get("BUS_BUILD_TOOLS_DIR");
  if (explicit) return explicit;
  const cache = Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(cache, "bus-integration", `build-tools-ts${TYPESCRIPT}-node${TYPES_NODE}`);
}

async function installed(dir: string, name: string, version: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(
      await Deno.readTextFile(join(dir, "node_modules", name, "package.json")),
    );
    return manifest.version === version;
  } catch {
    return false;
  }
}

/** Installs the pinned TypeScript and `@types/node` when missing; returns their paths. */
export async function ensureBuildTools(): Promise<BuildTools> {
  const dir = toolsDir();
  const ready = await installed(dir, "typescript", TYPESCRIPT) &&
    await installed(dir, "@types/node", TYPES_NODE);
  if (!ready) {
    // deno-lint-ignore no-console -- a build step says what it installs
    console.error(`== installing typescript@${TYPESCRIPT} @types/node@${TYPES_NODE} into ${dir}`);
    await Deno.mkdir(dir, { recursive: true });
    const install = () =>
      step("npm", [
        "install",
        "--silent",
        "--no-audit",
        "--no-fund",
        // What npm's cache holds installs without asking the registry again.
        "--prefer-offline",
        "--prefix",
        dir,
        `typescript@${TYPESCRIPT}`,
        `@types/node@${TYPES_NODE}`,
      ]);
    // The registry sometimes fails a request outright (seen in CI): try
    // twice more before the build fails for a reason that is not ours.
    for (let attempt = 1;; attempt++) {
      try {
        await install();
        break;
      } catch (error) {
        if (attempt === 3) throw error;
        // deno-lint-ignore no-console -- a build step says why it waits
        console.error(`== npm install failed (attempt ${attempt} of 3), trying again`);
      }
    }
  }
  return {
    tsc: join(dir, "node_modules", "typescript", "bin", "tsc"),
    typeRoots: join(dir, "node_modules", "@types"),
  };
}
