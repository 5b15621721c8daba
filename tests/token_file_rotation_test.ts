/**
 * A token file that is read fine at start-up and then found empty, missing
 * or malformed (a rotation that is not atomic) is a transient failure: the
 * provider rejects with `TransientError` (cause the `ConfigError`), and a
 * host's listener retries, showing why, instead of stopping. The first read
 * stays a `ConfigError`.
 */
import assert from "node:assert/strict";
import {
  clientOptionsFromEnv,
  ConfigError,
  defineWorker,
  EventsClient,
  Host,
  TransientError,
} from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";

async function tokenFile(text: string): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/api-token`;
  await Deno.writeTextFile(path, text);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** The provider `clientOptionsFromEnv()` made for the token file at `path`. */
async function providerFor(path: string): Promise<() => Promise<string>> {
  const { token } = await clientOptionsFromEnv({
    BUS_EVENTS_API_URL: "http://127.0.0.1:1",
    BUS_API_TOKEN_FILE: path,
  });
  assert.equal(typeof token, "function");
  return token as () => Promise<string>;
}

function transientFrom(expected: RegExp): (error: unknown) => boolean {
  return (error) =>
    error instanceof TransientError && error.code === "token_unreadable" &&
    error.cause instanceof ConfigError && error.cause.variable === "BUS_API_TOKEN_FILE" &&
    expected.test(error.message) && /^Cannot read the API token again: /.test(error.message);
}

Deno.test("clientOptionsFromEnv() token provider: a failed re-read is a TransientError, not a ConfigError", async () => {
  await using file = await tokenFile("first-token\n");
  const provider = await providerFor(file.path);
  assert.equal(await provider(), "first-token");
  await Deno.writeTextFile(file.path, "");
  await assert.rejects(provider(), transientFrom(/expected a non-empty token file/));
  await Deno.writeTextFile(file.path, "two tokens");
  await assert.rejects(provider(), transientFrom(/holding one token of printable ASCII/));
  await Deno.remove(file.path);
  await assert.rejects(provider(), transientFrom(/\(ENOENT\)/));
  await Deno.mkdir(file.path);
  await assert.rejects(provider(), transientFrom(/a readable token file at .* \(E\w+\)/));
  await Deno.remove(file.path);
  await Deno.writeTextFile(file.path, "second-token");
  assert.equal(await provider(), "second-token", "the rotated token is picked up");
});

Deno.test("clientOptionsFromEnv() still fails with a ConfigError when the token file is bad at start-up", async () => {
  await using file = await tokenFile("");
  await assert.rejects(
    clientOptionsFromEnv({
      BUS_EVENTS_API_URL: "http://127.0.0.1:1",
      BUS_API_TOKEN_FILE: file.path,
    }),
    (error) => error instanceof ConfigError && !(error instanceof TransientError),
  );
});

Deno.test("Host keeps a registration reconnecting while its token file is empty, then recovers", async () => {
  await using server = await startServer();
  await using file = await tokenFile(server.token);
  const { baseUrl, token } = await clientOptionsFromEnv({
    BUS_EVENTS_API_URL: server.served.url,
    BUS_API_TOKEN_FILE: file.path,
  });
  const controller = new AbortController();
  const host = new Host({
    transport: new EventsClient({ baseUrl, token }),
    registrations: [defineWorker({ name: "echo", names: ["tests.rotation"], handler: () => {} })],
    signal: controller.signal,
    reconnect: { min: 10, max: 50 },
    tokenRefresh: true,
  });
  const running = host.run();
  try {
    await until(() => host.readiness.ready, 10_000, "the host is ready");
    await Deno.writeTextFile(file.path, ""); // a rotation that truncates first
    server.api.faults.dropStreams();
    await until(
      () => /Cannot read the API token again/.test(host.report().registrations[0]!.lastError ?? ""),
      10_000,
      "the reason shows on /readyz",
    );
    const registration = host.report().registrations[0]!;
    assert.equal(registration.state, "reconnecting");
    assert.equal(host.status, "running");
    await Deno.writeTextFile(file.path, server.token);
    await until(() => host.readiness.ready, 10_000, "ready again with the rotated file");
  } finally {
    controller.abort();
    await running;
  }
});
