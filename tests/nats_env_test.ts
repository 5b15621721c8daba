/**
 * natsOptionsFromEnv(): NATS_URL, one kind of credentials (inline or from
 * files), the BUS_NATS_* mapping variables, and a ConfigError naming the
 * variable for every bad value, never showing a secret.
 */
import assert from "node:assert/strict";
import { nkeys } from "@nats-io/nats-core";
import { ConfigError } from "../mod.ts";
import { natsOptionsFromEnv } from "../nats.ts";
import { assertRejectsConfigError } from "./_env_helpers.ts";

const URL = "nats://127.0.0.1:4222";

/** A .creds file's shape: a JWT block and a seed block (the content is not checked here). */
function credsText(seed: string): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    "eyJ0eXAiOiJKV1QifQ.e30.sig",
    "------END NATS USER JWT------",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seed,
    "------END USER NKEY SEED------",
    "",
  ].join("\n");
}

async function withFile(text: string, use: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "bus-nats-env-" });
  try {
    await Deno.writeTextFile(path, text);
    await use(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("natsOptionsFromEnv() reads NATS_URL and the defaults", async () => {
  assert.deepEqual(await natsOptionsFromEnv({ NATS_URL: URL }), {
    servers: [URL],
    credentialsSource: "none",
  });
  assert.deepEqual(
    (await natsOptionsFromEnv({ NATS_URL: " nats://a:1, nats://b:2 ,", NATS_TOKEN: "" })).servers,
    ["nats://a:1", "nats://b:2"],
    "a list, spaces trimmed, and an empty variable is unset",
  );
});

Deno.test("natsOptionsFromEnv() reads the mapping variables", async () => {
  const options = await natsOptionsFromEnv({
    NATS_URL: URL,
    BUS_NATS_STREAM: "ORDERS",
    BUS_NATS_SUBJECT_PREFIX: "acme.events",
    BUS_NATS_ACK_WAIT: "1m30s",
    BUS_NATS_MAX_DELIVER: "9",
    BUS_NATS_MAX_AGE: "0",
  });
  assert.deepEqual(options, {
    servers: [URL],
    credentialsSource: "none",
    stream: "ORDERS",
    subjectPrefix: "acme.events",
    ackWait: 90_000,
    maxDeliver: 9,
    maxAge: 0,
  });
});

Deno.test("natsOptionsFromEnv() reads one kind of credentials and says where from", async () => {
  const token = await natsOptionsFromEnv({ NATS_URL: URL, NATS_TOKEN: "secret-token" });
  assert.deepEqual([token.token, token.credentialsSource], ["secret-token", "env NATS_TOKEN"]);
  const user = await natsOptionsFromEnv({
    NATS_URL: URL,
    NATS_USER: "alice",
    NATS_PASSWORD: "secret-pass",
  });
  assert.deepEqual([user.user, user.password, user.credentialsSource], [
    "alice",
    "secret-pass",
    "env NATS_USER and NATS_PASSWORD",
  ]);
  const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
  await withFile(`${seed}\n`, async (path) => {
    const nkey = await natsOptionsFromEnv({ NATS_URL: URL, NATS_NKEY: path });
    assert.deepEqual([nkey.nkeySeed, nkey.credentialsSource], [seed, `file ${path}`]);
  });
  await withFile(credsText(seed), async (path) => {
    const creds = await natsOptionsFromEnv({ NATS_URL: URL, NATS_CREDS: path });
    assert.deepEqual([creds.creds, creds.credentialsSource], [
      credsText(seed).trim(),
      `file ${path}`,
    ]);
  });
});

Deno.test("natsOptionsFromEnv() rejects a missing or bad NATS_URL with ConfigError", async () => {
  await assertRejectsConfigError(
    natsOptionsFromEnv({}),
    "NATS_URL",
    undefined,
    "Cannot use NATS_URL: current value is unset, expected a NATS server URL, e.g. nats://127.0.0.1:4222",
  );
  const expected =
    "comma-separated nats://, tls://, ws:// or wss:// URLs of one kind, without credentials";
  await assertRejectsConfigError(
    natsOptionsFromEnv({ NATS_URL: "http://127.0.0.1:4222" }),
    "NATS_URL",
    "http://127.0.0.1:4222",
    `Cannot use NATS_URL: current value is "http://127.0.0.1:4222", expected ${expected}`,
  );
  await assertRejectsConfigError(
    natsOptionsFromEnv({ NATS_URL: "nats://alice:secret@127.0.0.1:4222" }),
    "NATS_URL",
    "nats://[redacted]@127.0.0.1:4222",
    `Cannot use NATS_URL: current value is "nats://[redacted]@127.0.0.1:4222", expected ${expected}`,
  );
});

Deno.test("natsOptionsFromEnv() rejects credentials of two kinds, or half a pair, with ConfigError", async () => {
  await assert.rejects(
    natsOptionsFromEnv({ NATS_URL: URL, NATS_TOKEN: "secret", NATS_USER: "alice" }),
    (error) =>
      error instanceof ConfigError && error.variable === "NATS_USER" &&
      /while NATS_TOKEN is set/.test(error.message),
  );
  await assert.rejects(
    natsOptionsFromEnv({ NATS_URL: URL, NATS_CREDS: "/x", NATS_TOKEN: "secret" }),
    (error) =>
      error instanceof ConfigError && error.variable === "NATS_CREDS" && error.value === "/x",
  );
  await assert.rejects(
    natsOptionsFromEnv({ NATS_URL: URL, NATS_USER: "alice" }),
    (error) => error instanceof ConfigError && error.variable === "NATS_PASSWORD",
  );
  await assert.rejects(
    natsOptionsFromEnv({ NATS_URL: URL, NATS_PASSWORD: "secret" }),
    (error) =>
      error instanceof ConfigError && error.variable === "NATS_USER" &&
      !error.message.includes("secret"),
  );
});

Deno.test("natsOptionsFromEnv() rejects unreadable, empty or wrong credential files with ConfigError", async () => {
  await assert.rejects(
    natsOptionsFromEnv({ NATS_URL: URL, NATS_CREDS: "/no/such/file.creds" }),
    (error) =>
      error instanceof ConfigError && error.variable === "NATS_CREDS" &&
      /a readable file holding a NATS \.creds file/.test(error.message),
  );
  await withFile("  \n", async (path) => {
    await assert.rejects(
      natsOptionsFromEnv({ NATS_URL: URL, NATS_NKEY: path }),
      (error) => error instanceof ConfigError && /not an empty one/.test(error.message),
    );
  });
  await withFile("SUsecret-not-a-seed", async (path) => {
    await assert.rejects(
      natsOptionsFromEnv({ NATS_URL: URL, NATS_NKEY: path }),
      (error) =>
        error instanceof ConfigError && error.variable === "NATS_NKEY" &&
        error.value === path && /not an nkey seed/.test(error.message) &&
        !error.message.includes("secret"),
    );
  });
  await withFile("secret only", async (path) => {
    await assert.rejects(
      natsOptionsFromEnv({ NATS_URL: URL, NATS_CREDS: path }),
      (error) =>
        error instanceof ConfigError && error.variable === "NATS_CREDS" &&
        /not a NATS credentials file/.test(error.message),
    );
  });
});

Deno.test("natsOptionsFromEnv() reads a positive duration under a millisecond as 1 ms, never 0 (no limit)", async () => {
  const options = await natsOptionsFromEnv({
    NATS_URL: URL,
    BUS_NATS_MAX_AGE: "400us",
    BUS_NATS_ACK_WAIT: "1193h2m47.294s",
  });
  assert.equal(options.maxAge, 1);
  assert.equal(options.ackWait, 2 * 2_147_483_647, "the longest ack wait is accepted");
  assert.equal((await natsOptionsFromEnv({ NATS_URL: URL, BUS_NATS_MAX_AGE: "0s" })).maxAge, 0);
});

Deno.test("natsOptionsFromEnv() names what NATS_NKEY must hold when its file holds no seed", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "not a seed\n");
    await assert.rejects(
      natsOptionsFromEnv({ NATS_URL: URL, NATS_NKEY: path }),
      (error) =>
        error instanceof ConfigError && error.variable === "NATS_NKEY" &&
        /expected the path of a file holding an nkey seed \(SU…\), but it is not an nkey seed$/
          .test(error.message),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("natsOptionsFromEnv() rejects bad mapping values with ConfigError naming the variable", async () => {
  const cases: Array<[string, string, RegExp]> = [
    ["BUS_NATS_ACK_WAIT", "0s", /from 1ms to 1193h2m47\.294s/],
    ["BUS_NATS_ACK_WAIT", "soon", /a Go duration/],
    ["BUS_NATS_ACK_WAIT", "-5s", /a Go duration/],
    // Its half is the `working()` interval: past 2^31 − 1 ms a timer fires at once.
    ["BUS_NATS_ACK_WAIT", "1193h2m48s", /from 1ms to 1193h2m47\.294s/],
    ["BUS_NATS_MAX_DELIVER", "0", /from 1 to 9007199254740991/],
    ["BUS_NATS_MAX_DELIVER", "99999999999999999999", /from 1 to 9007199254740991/],
    ["BUS_NATS_MAX_DELIVER", "many", /a whole number/],
    ["BUS_NATS_MAX_AGE", "forever", /a Go duration/],
    ["BUS_NATS_STREAM", "my.stream", /stream name/],
    ["BUS_NATS_SUBJECT_PREFIX", "bus.>", /no wildcards/],
  ];
  for (const [variable, value, expected] of cases) {
    await assert.rejects(
      natsOptionsFromEnv({ NATS_URL: URL, [variable]: value }),
      (error) =>
        error instanceof ConfigError && error.variable === variable && error.value === value &&
        expected.test(error.message),
      `${variable}=${value}`,
    );
  }
});
