/**
 * A child process of the cross-runtime suite: its stdout read as lines (the
 * roles' JSON reports), its stderr kept for failure messages, waits with
 * deadlines, and `await using` disposal that always kills and reaps it.
 *
 * @module
 */

/** What to start. */
export interface Spawn {
  /** Executable. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Working directory. */
  cwd: string;
  /** Environment (the child gets only this). */
  env: Record<string, string>;
}

type Waiter = { test: (line: string) => boolean; resolve: (line: string) => void };

/** A running child, named for messages (`worker under node24`). */
export class RoleProcess implements AsyncDisposable {
  readonly label: string;
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  #stderr = "";
  #waiters: Waiter[] = [];
  #exit: Deno.CommandStatus | undefined;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #drained: Promise<void>;

  constructor(label: string, spawn: Spawn) {
    this.label = label;
    this.#child = new Deno.Command(spawn.command, {
      args: spawn.args,
      cwd: spawn.cwd,
      env: spawn.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#status = this.#child.status.then((status) => this.#exit = status);
    this.#drained = Promise.all([
      this.#read(this.#child.stdout, (line) => this.#onLine(line)),
      this.#read(this.#child.stderr, (line) => this.#stderr += `${line}\n`),
    ]).then(() => {});
  }

  async #read(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    let carry = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (carry + text).split("\n");
      carry = parts.pop()!;
      for (const part of parts) onLine(part);
    }
    if (carry !== "") onLine(carry);
  }

  #onLine(line: string) {
    this.#lines.push(line);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /** The child's process id (a wrapper such as `prlimit` execs the role in the same process). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything the child wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The stdout lines so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** The exit status, once it exited. */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#exit;
  }

  /** What to append to an assertion message about this child. */
  context(): string {
    const stdout = this.#lines.join("\n").slice(-2_000);
    return `\n--- ${this.label} stdout:\n${stdout}\n--- ${this.label} stderr:\n${
      this.#stderr.slice(-4_000)
    }`;
  }

  /**
   * The first stdout line (seen already or yet to come) that is a JSON
   * object with `key` (and for which `match` holds), parsed. Rejects when the
   * child exits without one or `timeoutMs` passes.
   */
  report<T = Record<string, unknown>>(
    key: string,
    timeoutMs: number,
    match: (value: Record<string, unknown>) => boolean = () => true,
  ): Promise<T> {
    const test = (line: string) => {
      try {
        const value = JSON.parse(line);
        return typeof value === "object" && value !== null && key in value && match(value);
      } catch {
        return false;
      }
    };
    return this.#line(test, timeoutMs, `a {"${key}": …} report`).then((line) => JSON.parse(line));
  }

  /** The first stderr-or-stdout condition, polled until `timeoutMs`: for log output. */
  async until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.#exit !== undefined) {
        throw new Error(
          `${this.label} exited (${this.#exit.code}) before ${what}${this.context()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.label}: no ${what} within ${timeoutMs} ms${this.context()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #line(test: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = this.#lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { test, resolve: (line) => settle(() => resolve(line)) };
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms${this.context()}`))
          ),
        timeoutMs,
      );
      const exited = () =>
        settle(() =>
          reject(
            new Error(`${this.label} exited (${this.#exit?.code}) before ${what}${this.context()}`),
          )
        );
      // Exit is only final once the output is read to the end.
      this.#drained.then(exited, exited);
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        finish();
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends `signal` unless the child already exited. */
  kill(signal: Deno.Signal): void {
    if (this.#exit !== undefined) return;
    try {
      this.#child.kill(signal);
    } catch {
      // It exited between the check and the kill.
    }
  }

  /** Waits for the exit (and the end of its output) for at most `timeoutMs`. */
  async exited(timeoutMs: number): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`${this.label} still running after ${timeoutMs} ms${this.context()}`)),
        timeoutMs,
      );
    });
    try {
      const status = await Promise.race([this.#status, late]);
      await this.#drained;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child if it still runs, then reaps it and its output. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.#status;
    await this.#drained;
  }
}
