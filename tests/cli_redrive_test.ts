/**
 * `bus-integration redrive` as a child process (`deno run -A cli.ts …`)
 * against a reference server served by the test process: listing,
 * redriving, resuming, and its exit statuses.
 */
import assert from "node:assert/strict";
import type { DeadLetterPayload, EventEnvelope } from "../mod.ts";
import { baseEnv, runDeno } from "./_child.ts";
import { retained, startServer, type TestServer } from "./_server.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const NAME = "job.run.request";
const DEAD = `${NAME}.dead-letter`;

function serverEnv(server: TestServer): Record<string, string> {
  return { ...baseEnv(), BUS_EVENTS_API_URL: server.served.url, BUS_API_TOKEN: server.token };
}

function runCli(args: string[], env: Record<string, string>) {
  return runDeno(["run", "-A", CLI, ...args], env);
}

/** Publishes the dead letter a worker would have published for `envelope`. */
async function publishDeadLetter(server: TestServer, envelope: EventEnvelope, message: string) {
  const payload: DeadLetterPayload = {
    envelope,
    attempts: 3,
    reason: `attempt 3 of 3 failed: Error: ${message}`,
    error: { name: "Error", code: "handler_failed", message },
    firstAttemptAt: "2024-01-01T00:00:00.000Z",
    lastAttemptAt: "2024-01-01T00:00:07.000Z",
  };
  return await server.client.publish({
    name: DEAD,
    correlationId: envelope.correlationId,
    payload,
  });
}

Deno.test("bus-integration redrive --dry-run lists the dead letters, one line each, and publishes nothing", async () => {
  await using server = await startServer();
  const first = await publishDeadLetter(server, { name: NAME, correlationId: "c1" }, "disk\tfull");
  await publishDeadLetter(server, { name: NAME }, "timeout");
  const published = server.api.stats.published;
  const result = await runCli(["redrive", "--dry-run", DEAD], serverEnv(server));
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[0], `${first.id}\t${NAME}\tc1\tattempts=3\thandler_failed: disk full`);
  assert.match(lines[1]!, new RegExp(`\t${NAME}\t-\tattempts=3\thandler_failed: timeout$`));
  assert.match(
    lines[2]!,
    /^would redrive 2 of 2 dead letters from .* \(0 filtered, 0 skipped\); next time: --after \S+$/,
  );
  assert.equal(server.api.stats.published, published, "a dry run publishes nothing");
  assert.ok(!result.stderr.includes(server.token), "the token never reaches the log");
});

Deno.test("bus-integration redrive re-publishes each original, and --after resumes after the last one", async () => {
  await using server = await startServer();
  await publishDeadLetter(server, {
    name: NAME,
    correlationId: "c7",
    metadata: { tenant: "acme" },
    payload: { job: 7 },
  }, "boom");
  const env = serverEnv(server);
  const result = await runCli(["redrive", DEAD], env);
  assert.equal(result.code, 0, result.stderr);
  const after = /next time: --after (\S+)$/m.exec(result.stdout)?.[1];
  assert.match(result.stdout, /^redrove 1 of 1 dead letters from job\.run\.request\.dead-letter/m);
  const [redriven] = await retained(server, NAME);
  assert.equal(redriven!.correlationId, "c7");
  assert.deepEqual(redriven!.metadata, { tenant: "acme" });
  assert.deepEqual(redriven!.payload, { job: 7 });

  await publishDeadLetter(server, { name: NAME, correlationId: "c8" }, "later");
  const resumed = await runCli(["redrive", "--after", after!, DEAD], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /^redrove 1 of 1 dead letters/m);
  assert.deepEqual((await retained(server, NAME)).map((e) => e.correlationId), ["c7", "c8"]);
});

Deno.test("bus-integration redrive exits 2 on bad usage, naming what is wrong", async () => {
  await using server = await startServer();
  const env = serverEnv(server);
  const cases: Array<[string[], RegExp]> = [
    [["redrive"], /give the dead letters' event name/],
    [["redrive", "Bad Name"], /Cannot redrive "Bad Name": it is no event name/],
    [["redrive", DEAD, "extra"], /redrive takes one event name/],
    [["redrive", "--dry-run=yes", DEAD], /--dry-run: it takes no value/],
    [["redrive", "--after", "", DEAD], /--after: current value is "", expected a dead letter's id/],
    [["redrive", "--after"], /--after: it needs a value/],
    [
      ["redrive", "--health-port", "8081", DEAD],
      /Unknown option "--health-port": see bus-integration redrive --help/,
    ],
    [["redrive", "--token", "secret-value", DEAD], /Cannot take a token on the command line/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args, env);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
    assert.ok(!result.stderr.includes("secret-value"));
  }
  const noUrl = await runCli(["redrive", DEAD], { ...baseEnv(), BUS_API_TOKEN: server.token });
  assert.equal(noUrl.code, 2, noUrl.stderr);
  assert.match(noUrl.stderr, /BUS_EVENTS_API_URL/);
});

Deno.test("bus-integration redrive exits 1 when the Events API refuses or cannot be reached", async () => {
  await using server = await startServer();
  const refused = await runCli(["redrive", DEAD], { ...serverEnv(server), BUS_API_TOKEN: "wrong" });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /Cannot redrive job\.run\.request\.dead-letter: .*401/);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const unreachable = await runCli(["redrive", DEAD], {
    ...serverEnv(server),
    BUS_EVENTS_API_URL: `http://127.0.0.1:${port}`,
  });
  assert.equal(unreachable.code, 1, unreachable.stderr);
  assert.match(unreachable.stderr, /Cannot redrive/);
  assert.ok(!unreachable.stderr.includes("at "), "a message, not a stack");
});

Deno.test("bus-integration help redrive and redrive --help show its usage", async () => {
  for (const args of [["help", "redrive"], ["redrive", "--help"]]) {
    const result = await runCli(args, baseEnv());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: bus-integration redrive \[options\] <name> \[--dry-run\]/);
    assert.match(result.stdout, /--after ID/);
    assert.doesNotMatch(result.stdout, /--health-port/);
  }
  const main = await runCli(["--help"], baseEnv());
  assert.match(main.stdout, /bus-integration redrive \[options\] <name>/);
});
