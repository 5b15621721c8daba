/**
 * What a host with many listeners meets at a runtime's limits: Bun's cap on
 * concurrent fetches and the process's file-descriptor limit (Node's
 * warning at more than 10 listeners on one AbortSignal, which a host's
 * shared stop signal lifts, is run under Node in
 * tests/host_footprint_test.ts). Each limit either
 * fails with a clear error or surfaces in the host's report; no listener
 * waits silently past it. Also what one listener costs above its stream:
 * `listenAll()` of a single stream adds nothing between it and `listen()`.
 */
import assert from "node:assert/strict";
import { BadRequestError, listenAll, ListenerReadiness } from "../mod.ts";
import { MemoryTransport } from "./_memory_transport.ts";
import { startServer } from "./_server.ts";
import { bun, limitedDenoArgs, prlimit } from "./_executables.ts";

/**
 * A program that runs a host with `count` registrations on one
 * EventsClient and prints, once all are ready, the host failed, or every
 * registration not ready has reported a failure (or 20 s passed): whether
 * it got ready, how run() ended, and the distinct failures it reported.
 */
const HOST_PROGRAM = `
import process from "node:process";
import { defineWorker, EventsClient, Host } from ${
  JSON.stringify(import.meta.resolve("../mod.ts"))
};
const [url, token, count] = process.argv.slice(2);
const stop = new AbortController();
const host = new Host({
  transport: new EventsClient({ baseUrl: url, token }),
  signal: stop.signal,
  reconnect: { min: 200, max: 200 },
  registrations: Array.from({ length: Number(count) }, (_, i) =>
    defineWorker({ name: "l" + i, names: ["limit.l" + i], handler: () => {} })),
});
let failure;
const running = host.run().catch((error) => { failure = error; });
const deadline = Date.now() + 20_000;
const settled = () => {
  const waiting = host.report().registrations.filter((r) => r.state !== "ready");
  return waiting.length === 0 || failure !== undefined || waiting.every((r) => r.lastError);
};
while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const report = host.report();
const errors = [...new Set(report.registrations.map((r) => r.lastError).filter(Boolean)
  .map((e) => e.replace(/https?:\\/\\/\\S+/g, "<url>")))];
console.log(JSON.stringify({
  ready: report.ready,
  openRegistrations: report.registrations.filter((r) => r.state === "ready").length,
  failure: failure && { name: failure.name, cause: failure.cause?.code, message: String(failure.cause?.message) },
  errors,
}));
stop.abort();
await running;
process.exit(0);
`;

/** Writes the host program into a temporary directory; `await using` removes it. */
async function hostProgram() {
  const dir = await Deno.makeTempDir({ prefix: "bus-scale-limits-" });
  const path = `${dir}/host.ts`;
  await Deno.writeTextFile(path, HOST_PROGRAM);
  return {
    dir,
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs a command and parses the JSON line it prints last. */
async function runProgram(command: string, args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

Deno.test({
  name:
    "EventsClient.open() on Bun fails the host with too_many_streams past the fetch cap, not a stall",
  ignore: bun === undefined,
  fn: async () => {
    await using server = await startServer();
    await using program = await hostProgram();
    const bundle = `${program.dir}/host.mjs`;
    const bundled = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        "--format",
        "esm",
        "-o",
        bundle,
        program.path,
      ],
    }).output();
    assert.equal(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
    const args = [bundle, server.served.url, server.token, "300"];

    // Default cap 256: 240 streams, 16 kept for publishing; the 241st fails the host.
    const capped = await runProgram(bun!, args);
    assert.equal(capped.ready, false);
    assert.equal(capped.failure?.name, "RegistrationError");
    assert.equal(capped.failure?.cause, "too_many_streams");
    assert.match(capped.failure?.message, /already holds 240 streams open/);
    assert.match(capped.failure?.message, /BUN_CONFIG_MAX_HTTP_REQUESTS/);

    // A raised cap fits all 300.
    const raised = await runProgram(bun!, args, { BUN_CONFIG_MAX_HTTP_REQUESTS: "400" });
    assert.equal(raised.failure, undefined);
    assert.equal(raised.ready, true);
    assert.equal(raised.openRegistrations, 300);
  },
});

Deno.test({
  name: "Host.report() names 'Too many open files' for listeners past the file-descriptor limit",
  ignore: prlimit === undefined,
  fn: async () => {
    await using server = await startServer();
    await using program = await hostProgram();
    // 120 listeners, 80 descriptors: Deno's own use some, so a few dozen cannot connect.
    const result = await runProgram(
      prlimit!,
      limitedDenoArgs(80, program.path, [server.served.url, server.token, "120"]),
    );
    assert.equal(result.ready, false);
    assert.equal(result.failure, undefined, "a descriptor shortage is retried, not fatal");
    assert.ok(result.openRegistrations > 0 && result.openRegistrations < 120);
    assert.ok(
      result.errors.some((error: string) => /Too many open files/.test(error)),
      JSON.stringify(result.errors),
    );
  },
});

Deno.test("listenAll() with one stream listens on the caller's signal and readiness, with nothing between", async () => {
  const transport = new MemoryTransport();
  const stop = new AbortController();
  const readiness = new ListenerReadiness();
  const running = listenAll({
    transport,
    streams: [{ name: "limit.one" }],
    readiness,
    signal: stop.signal,
    onEvent: () => {},
  });
  await readiness.waitReady();
  assert.equal(transport.opens[0]?.signal, stop.signal);
  stop.abort();
  await running;
  assert.equal(readiness.ready, false);
  assert.equal(readiness.reason, "stopped");
});

Deno.test("listenAll() with one stream rejects with its fatal error and leaves readiness false", async () => {
  const transport = new MemoryTransport();
  const failure = new BadRequestError("Cannot open stream: bad name", { status: 400 });
  transport.failOpens.push(failure);
  const readiness = new ListenerReadiness();
  await assert.rejects(
    listenAll({ transport, streams: [{ name: "limit.one" }], readiness, onEvent: () => {} }),
    (error) => error === failure,
  );
  assert.equal(readiness.ready, false);
});
