/**
 * What every role script shares: the runtime's name, required environment
 * variables, one-JSON-object-per-line reports on stdout (the orchestrator
 * reads them), and a signal that aborts on SIGTERM/SIGINT.
 *
 * Roles are written once, against the package's public specifiers: Deno
 * runs them from source, Node and Bun run their build in dist/npm-roles.
 *
 * @module
 */

import process from "node:process";

/** `deno 2.9.6`, `node 20.20.2`, `bun 1.4.5`: what runs this script. */
export function runtimeLabel(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.deno) return `deno ${versions.deno}`;
  if (versions.bun) return `bun ${versions.bun}`;
  return `node ${versions.node}`;
}

/** The value of an environment variable the role cannot run without. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Cannot run role: ${name} is not set`);
  return value;
}

/** Writes one report line on stdout. */
export function report(value: Record<string, unknown>): void {
  // deno-lint-ignore no-console -- stdout is how a role talks to the orchestrator
  console.log(JSON.stringify(value));
}

/** Aborts on the first SIGTERM or SIGINT (instead of dying), so the role can drain. */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => controller.abort(new Error(`Received ${signal}`)));
  }
  return controller.signal;
}

/** Exits with status 1 after reporting `error`, for a role's top-level failure. */
export function fail(error: unknown): never {
  report({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}
