/**
 * A real `nats-server -js` for tests, the demo and the NATS benchmark: on a
 * free 127.0.0.1 port with a temporary store directory, started as a child
 * process, ready once it logs that it accepts clients, restartable on the
 * same port and store, and stopped (or killed) by its PID. Written with
 * `node:` builtins, so the benchmark runs it on Node and Bun too.
 *
 * {@linkcode natsTest} registers a Deno test that needs the server: ignored,
 * with one line saying so, when `nats-server` is not on PATH; under
 * `CI=true` a missing `nats-server` fails the run instead.
 * {@linkcode nextEvent} reads a subscription with a deadline, so a test
 * waiting for an event that never comes fails instead of hanging.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
// The package name, so the npm build compiles this file for the benchmark on Node and Bun.
import type { EventEnvelope, EventSubscription } from "@bus/integration";

/** The `nats-server` executable on PATH (Debian installs it in /usr/sbin), or `undefined`. */
export function findNatsServer(): string | undefined {
  return (process.env.PATH ?? "").split(":").filter((dir) => dir.startsWith("/"))
    .map((dir) => join(dir, "nats-server")).find((path) => existsSync(path));
}

/** Options of {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** More `nats-server` arguments, e.g. `["--user", "a", "--pass", "b"]`. */
  args?: readonly string[];
  /** A configuration file's text (`max_payload: 4096`, an `authorization` block), passed with `-c`. */
  config?: string;
  /** Longest wait for the server to accept clients, in ms. @default {15000} */
  readyTimeout?: number;
}

/** A running server; `await using` stops it and removes its store. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port, the same across restarts. */
  readonly port: number;
  /** The JetStream store directory, the same across restarts. */
  readonly storeDir: string;
  /** The PID of the running process (`undefined` while stopped). */
  readonly pid: number | undefined;
  /** Everything the server logged so far (all runs). */
  readonly log: string;
  /** Stops the server gracefully (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store; resolves once it accepts clients. */
  start(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; it is free again once the probe closes). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `nats-server -js -a 127.0.0.1 -p <free port> -sd <temp dir>` and
 * resolves once it logs "Server is ready".
 *
 * @throws {Error} When `nats-server` is not on PATH, or it exits or stays
 * silent past `readyTimeout`.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const executable = findNatsServer();
  if (executable === undefined) throw new Error("Cannot start nats-server: it is not on PATH");
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), "bus-nats-"));
  const extra = [...(options.args ?? [])];
  if (options.config !== undefined) {
    const file = join(storeDir, "nats-server.conf");
    await writeFile(file, options.config);
    extra.push("-c", file);
  }
  const readyTimeout = options.readyTimeout ?? 15_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = "";

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];
      const started = spawn(executable, [...args, ...extra], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = started;
      exited = new Promise((done) => started.once("exit", () => done()));
      const timer = setTimeout(() => {
        started.kill("SIGKILL");
        reject(new Error(`Cannot start nats-server: not ready within ${readyTimeout} ms\n${log}`));
      }, readyTimeout);
      started.stderr!.setEncoding("utf8");
      started.stderr!.on("data", (text: string) => {
        log += text;
        if (log.includes("Server is ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Cannot start nats-server: it exited with status ${code}\n${log}`));
      });
      started.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });

  const end = async (signal: "SIGTERM" | "SIGKILL") => {
    const running = child;
    if (running === undefined) return;
    child = undefined;
    if (running.exitCode === null && running.signalCode === null) running.kill(signal);
    await exited;
  };

  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child?.pid;
    },
    get log() {
      return log;
    },
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    start: async () => {
      log = log.replace(/Server is ready/g, "Server was ready");
      await start();
    },
    restart: async () => {
      await end("SIGTERM");
      await server.start();
    },
    async [Symbol.asyncDispose]() {
      await end("SIGKILL");
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
  return server;
}

let announced = false;

/**
 * Whether the NATS tests can run here. Announces a skip once; under
 * `CI=true` a missing `nats-server` throws instead, failing the run.
 */
export function natsServerAvailable(): boolean {
  if (findNatsServer() !== undefined) return true;
  if (process.env.CI === "true") {
    throw new Error("nats-server is not on PATH, and CI=true: the NATS tests cannot be skipped");
  }
  if (!announced) {
    announced = true;
    // deno-lint-ignore no-console -- the one line the README's test command promises
    console.error("nats-server is not on PATH: the NATS tests are skipped (counted as ignored)");
  }
  return false;
}

/** Deno's test registration, reached without Deno's types: the benchmark compiles this file for Node. */
const deno = (globalThis as {
  Deno?: { test(definition: { name: string; ignore: boolean; fn: () => Promise<void> }): void };
}).Deno;

/** `Deno.test` for a test against a real nats-server: ignored when there is none. */
export function natsTest(name: string, fn: () => Promise<void>): void {
  deno!.test({ name, ignore: !natsServerAvailable(), fn });
}

/**
 * The next envelope of `subscription`; rejects when it ends instead, or
 * when none arrives within `timeout` ms.
 */
export async function nextEvent(
  subscription: EventSubscription,
  timeout = 10_000,
): Promise<EventEnvelope> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No event within ${timeout} ms`)), timeout);
  });
  try {
    const result = await Promise.race([subscription.next(), late]);
    if (result.done) throw new Error("The subscription ended before the next event");
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}
