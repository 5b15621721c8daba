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
import type { Requester } from "@bus/integration";

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

/** What one target's answers looked like. */
export interface TargetResult {
  answered: number;
  wrong: number;
  runtimes: string[];
}

/**
 * Sends `count` requests to each of `targets` at once and counts, per
 * target, the answers that echoed the payload and the runtimes that answered.
 */
export async function requestEach(
  requester: Requester,
  targets: readonly string[],
  count: number,
  runtime: string,
): Promise<Record<string, TargetResult>> {
  const results: Record<string, TargetResult> = {};
  await Promise.all(targets.map(async (target) => {
    const result: TargetResult = { answered: 0, wrong: 0, runtimes: [] };
    results[target] = result;
    await Promise.all(Array.from({ length: count }, async (_, n) => {
      const payload = { from: runtime, n };
      const answer = await requester.request(target, payload) as {
        echo?: { from?: string; n?: number };
        runtime?: string;
      };
      if (answer.echo?.from === runtime && answer.echo?.n === n) result.answered++;
      else result.wrong++;
      if (answer.runtime && !result.runtimes.includes(answer.runtime)) {
        result.runtimes.push(answer.runtime);
      }
    }));
  }));
  return results;
}
