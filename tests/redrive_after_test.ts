/**
 * redrive() with `after`: it starts after the record of that id in the
 * server's order, and an id the retained history does not hold (a typo,
 * `last`, an id of another name) stops it before anything is published,
 * where the reference server would replay every dead letter for it. And
 * the CLI: exit 1 naming the problem, and a hint for a name that is not a
 * dead letters' name.
 */
import assert from "node:assert/strict";
import { type DeadLetterPayload, redrive } from "../mod.ts";
import { baseEnv, runDeno } from "./_child.ts";
import { retained, startServer, type TestServer } from "./_server.ts";

const NAME = "job.run.request";
const DEAD = `${NAME}.dead-letter`;
const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Publishes three dead letters of `NAME`; resolves with their ids, oldest first. */
async function threeDeadLetters(server: TestServer): Promise<string[]> {
  const ids: string[] = [];
  for (const n of [1, 2, 3]) {
    const payload: DeadLetterPayload = {
      envelope: { name: NAME, correlationId: `c${n}`, payload: { n } },
      attempts: 1,
      reason: "test",
      error: { name: "Error", code: "boom", message: "failed" },
      firstAttemptAt: "2024-01-01T00:00:00.000Z",
      lastAttemptAt: "2024-01-01T00:00:00.000Z",
    };
    ids.push((await server.client.publish({ name: DEAD, payload })).id!);
  }
  return ids;
}

Deno.test("redrive() with after redrives only the dead letters after that id", async () => {
  await using server = await startServer();
  const ids = await threeDeadLetters(server);
  const result = await redrive({ transport: server.client, from: DEAD, after: ids[0] });
  assert.equal(result.read, 2);
  assert.equal(result.redriven, 2);
  assert.equal(result.lastEventId, ids[2]);
  const redriven = await retained(server, NAME);
  assert.deepEqual(redriven.map((event) => event.correlationId), ["c2", "c3"]);
  const none = await redrive({ transport: server.client, from: DEAD, after: ids[2] });
  assert.deepEqual([none.read, none.redriven, none.lastEventId], [0, 0, ids[2]]);
});

Deno.test("redrive() rejects an after that is no retained id, having published nothing", async () => {
  await using server = await startServer();
  const ids = await threeDeadLetters(server);
  const other = await server.client.publish({ name: "other.name.dead-letter", payload: {} });
  for (const after of [`${ids[2]}0`, "last", other.id!, " ", "0"]) {
    const published = server.api.stats.published;
    await assert.rejects(
      redrive({ transport: server.client, from: DEAD, after }),
      (error) =>
        error instanceof RangeError &&
        error.message.startsWith(
          `Cannot redrive ${DEAD}: after ${JSON.stringify(after)} is the id of no retained record`,
        ) && /nothing was redriven/.test(error.message),
      after,
    );
    assert.equal(server.api.stats.published, published, `${after}: nothing published`);
    await assert.rejects(redrive({ transport: server.client, from: DEAD, after, dryRun: true }));
  }
  assert.deepEqual(await retained(server, NAME), []);
});

Deno.test("redrive() rejects any after when nothing is retained", async () => {
  await using server = await startServer();
  await assert.rejects(
    redrive({ transport: server.client, from: DEAD, after: "0000000000000001" }),
    RangeError,
  );
});

function runCli(args: string[], server: TestServer) {
  return runDeno(["run", "-A", CLI, ...args], {
    ...baseEnv(),
    BUS_EVENTS_API_URL: server.served.url,
    BUS_API_TOKEN: server.token,
  });
}

Deno.test("bus-integration redrive --after an unknown id exits 1 and redrives nothing", async () => {
  await using server = await startServer();
  const ids = await threeDeadLetters(server);
  const result = await runCli(["redrive", "--after", `${ids[2]}0`, DEAD], server);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `bus-integration: Cannot redrive ${DEAD}: after "${ids[2]}0" is the id of no retained`,
    ),
  );
  assert.equal(result.stdout, "");
  assert.deepEqual(await retained(server, NAME), []);
});

Deno.test("bus-integration redrive hints at .dead-letter when every record was skipped", async () => {
  await using server = await startServer();
  await server.client.publish({ name: NAME, payload: { job: 1 } });
  const result = await runCli(["redrive", "--dry-run", NAME], server);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /would redrive 0 of 1 dead letters .* 1 skipped/);
  assert.match(
    result.stderr,
    new RegExp(`bus-integration: no record of ${NAME} was a dead letter: did you mean ${DEAD}\\?`),
  );
  // No hint for a dead letters' name, nor when something was a dead letter.
  await threeDeadLetters(server);
  await server.client.publish({ name: DEAD, payload: { not: "a dead letter" } });
  const dead = await runCli(["redrive", "--dry-run", DEAD], server);
  assert.equal(dead.code, 0, dead.stderr);
  assert.ok(!dead.stderr.includes("did you mean"), dead.stderr);
});
