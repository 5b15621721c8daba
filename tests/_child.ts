/**
 * Spawning Deno children for tests: a clean environment, and running a
 * command to completion with its output.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** Enough for a runtime to find its caches, and nothing of ours. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** `deno <args>` in the repository root with exactly `env`, output piped. */
export function denoCommand(args: string[], env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `deno <args>` to completion. */
export async function runDeno(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await denoCommand(args, env).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** What a benchmark on the loopback reference server needs: its port, the env, the files it reads. */
const LOOPBACK_BENCH = ["--allow-net=127.0.0.1", "--allow-env", "--allow-read"];

/** Runs `deno run` of the benchmark `script` (from the repository root) with `args`. */
export function runBench(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runDeno(["run", ...LOOPBACK_BENCH, script, ...args], baseEnv());
}

/**
 * Asserts that the benchmark `script` refuses each command line of
 * `commandLines` with status 2 and a message matching `expected`, before
 * measuring anything.
 */
export async function assertRefusesCommandLines(
  script: string,
  commandLines: string[][],
  expected: RegExp,
): Promise<void> {
  for (const args of commandLines) {
    const { code, stdout, stderr } = await runBench(script, args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, expected);
    assert.equal(stdout, "", "nothing is measured");
  }
}
