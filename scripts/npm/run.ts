/**
 * Runs a build step as a child process and fails the build, with the
 * step's output, when it fails.
 *
 * @module
 */

/** How to run one step. */
export interface StepOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Runs `command args…`, streaming its output; throws when it exits non-zero. */
export async function step(command: string, args: string[], options: StepOptions = {}) {
  const { code } = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  }).output();
  if (code !== 0) {
    throw new Error(`Cannot build: ${command} ${args.join(" ")} exited with status ${code}`);
  }
}

/** Runs `command args…` and returns its stdout; throws with its stderr when it fails. */
export async function capture(command: string, args: string[], cwd?: string): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(cwd === undefined ? {} : { cwd }),
  }).output();
  const decoder = new TextDecoder();
  if (output.code !== 0) {
    throw new Error(
      `Cannot build: ${command} ${args.join(" ")} exited with status ${output.code}\n` +
        decoder.decode(output.stderr),
    );
  }
  return decoder.decode(output.stdout);
}
