/**
 * Host: a drain timeout that abandons handlers is reported (`abandoned`),
 * not passed off as a clean stop; and the host's known secrets never reach
 * its reports (`lastError`, reasons, `/readyz`, the status page), whoever
 * wrote the error text. On the in-memory transport under fake time.
 */
import assert from "node:assert/strict";
import { defineWorker, Host, type HostReport } from "../mod.ts";
import { fakeTime, settle } from "./_fake_time.ts";
import { MemoryTransport } from "./_memory_transport.ts";

const TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.s1gn/ature+==";

/** A registration whose handler waits for `release` (or forever), ignoring its signal. */
function stubborn(name: string, release: Promise<void> = new Promise(() => {})) {
  return defineWorker({
    name,
    names: [`tests.${name}.request`],
    concurrency: 2,
    drainTimeout: 1_000,
    handler: () => release,
  });
}

/** A registration whose handler fails with an error quoting `token`. */
function leaky(token: string) {
  return defineWorker({
    name: "leaky",
    names: ["tests.leaky.request"],
    deadLetter: false,
    handler: () => {
      throw new Error(`request failed: Authorization: Bearer ${token}`);
    },
  });
}

Deno.test("Host.abandoned counts the handlers still running when the drain timeout ran out", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const host = new Host({
    transport,
    registrations: [stubborn("hang")],
    signal: controller.signal,
  });
  const running = host.run();
  await settle(time.clock);
  await transport.publish({ name: "tests.hang.request" });
  await transport.publish({ name: "tests.hang.request" });
  await settle(time.clock);
  assert.equal(host.report().registrations[0]!.inFlight, 2);
  controller.abort();
  await time.clock.tickAsync(1_000);
  await running;
  assert.equal(host.abandoned, 2);
  assert.equal(host.status, "stopped");
});

Deno.test("Host.abandoned stays 0 when every handler finished within the drain timeout", async () => {
  using time = fakeTime();
  const transport = new MemoryTransport();
  const controller = new AbortController();
  let release!: () => void;
  const host = new Host({
    transport,
    registrations: [stubborn("slow", new Promise((resolve) => release = resolve))],
    signal: controller.signal,
  });
  const running = host.run();
  await settle(time.clock);
  await transport.publish({ name: "tests.slow.request" });
  await settle(time.clock);
  controller.abort();
  await time.clock.tickAsync(999);
  release();
  await time.clock.tickAsync(1);
  await running;
  assert.equal(host.abandoned, 0);
});

/** Runs `leaky` on a host with `secrets` until its handler failed once; returns the host. */
async function hostAfterLeak(secrets: ConstructorParameters<typeof Host>[0]["secrets"]) {
  const transport = new MemoryTransport();
  const controller = new AbortController();
  const host = new Host({
    transport,
    registrations: [leaky(TOKEN)],
    signal: controller.signal,
    secrets,
  });
  const running = host.run();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await transport.publish({ name: "tests.leaky.request" });
  for (let turn = 0; turn < 50 && host.report().registrations[0]!.failed === 0; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return { host, stop: () => (controller.abort(), running) };
}

/** Every text of `host`'s reports and pages, for looking for a secret in. */
async function everythingShown(host: Host): Promise<string> {
  const readyz = await (await host.fetch(new Request("http://host.test/readyz"))).text();
  const page = await (await host.fetch(new Request("http://host.test/"))).text();
  return [JSON.stringify(host.report()), readyz, page].join("\n");
}

Deno.test("Host.report() and its pages redact a secret quoted by a handler's error", async () => {
  const { host, stop } = await hostAfterLeak([TOKEN]);
  try {
    const report: HostReport = host.report();
    assert.equal(report.registrations[0]!.failed, 1);
    assert.equal(
      report.registrations[0]!.lastError,
      "Error: request failed: Authorization: Bearer [redacted]",
    );
    const shown = await everythingShown(host);
    assert.ok(!shown.includes(TOKEN), "the token is on no page");
    assert.ok(!shown.includes(JSON.stringify(TOKEN).slice(1, -1)), "nor JSON-escaped");
  } finally {
    await stop();
  }
});

Deno.test("Host.report() asks a secrets function each time, so a rotated token is redacted too", async () => {
  let current = "an-older-token";
  const { host, stop } = await hostAfterLeak(() => [current]);
  try {
    assert.ok(host.report().registrations[0]!.lastError!.includes(TOKEN));
    current = TOKEN;
    assert.ok(!(await everythingShown(host)).includes(TOKEN));
  } finally {
    await stop();
  }
});

Deno.test("Host.report() without secrets shows a handler's error as it is", async () => {
  const { host, stop } = await hostAfterLeak(undefined);
  try {
    assert.ok(host.report().registrations[0]!.lastError!.includes(TOKEN));
  } finally {
    await stop();
  }
});

Deno.test("new Host() refuses secrets that are neither an array nor a function", () => {
  for (const secrets of ["a-token", 42, { token: "x" }]) {
    assert.throws(
      () =>
        new Host({
          transport: new MemoryTransport(),
          registrations: [leaky("x")],
          secrets: secrets as unknown as string[],
        }),
      (error) =>
        error instanceof TypeError &&
        error.message === "Cannot create host: secrets is not an array of strings or a function",
    );
  }
});
