/**
 * A password in the Events API URL (or NATS_URL) never reaches a message,
 * whether the URL parses or not and whichever way it is wrong; a query in
 * the Events API URL is refused rather than dropped. The env contract, the
 * command line's `--events-url`, the NATS contract and the shared helper.
 */
import assert from "node:assert/strict";
import { clientOptionsFromEnv, ConfigError, describeError } from "../mod.ts";
import { natsOptionsFromEnv } from "../nats.ts";
import { parseCommandLine } from "../src/cli/args.ts";
import { redactedUrl } from "../src/dialed_url.ts";

const PASSWORD = "hunter2";

/** URLs that hold a password and are wrong in another way too. */
const BAD_URLS = [
  "https://admin:hunter2@bus.example:99999", // port out of range
  "https://admin:hunter2@bus example.test", // space in the host
  "https://admin:hunter2@[bus.example", // unclosed bracket
  "ftp://admin:hunter2@bus.example", // wrong scheme, parses
  "admin:hunter2@bus.example", // no scheme: parses as scheme "admin:"
  "https://admin:hun/ter2@bus.example", // a "/" in the password
  "https://admin:hunter2@bus.example", // only the credentials are wrong
];

Deno.test("redactedUrl() replaces the user info and the query, parsed or not", () => {
  const cases: Array<[string, string]> = [
    ["https://admin:hunter2@bus.example:99999", "https://[redacted]@bus.example:99999"],
    ["https://admin:hunter2@bus example.test/x", "https://[redacted]@bus example.test/x"],
    ["admin:hunter2@127.0.0.1:4222", "[redacted]@127.0.0.1:4222"],
    ["https://admin:p@ss@bus.example", "https://[redacted]@bus.example"],
    ["https://admin:hun/ter2@bus.example", "https://[redacted]@bus.example"],
    ["http://127.0.0.1:8080/?access_token=QSECRET", "http://127.0.0.1:8080/?[redacted]"],
    ["http://bus.example/#frag", "http://bus.example/#[redacted]"],
    ["nats://a:4222,nats://u:pw@b:4222", "nats://a:4222,nats://[redacted]@b:4222"],
    ["nats://u:p,w@b:4222", "nats://[redacted]@b:4222"],
    ["https://bus.example/api/v1/events", "https://bus.example/api/v1/events"],
    ["", ""],
  ];
  for (const [given, shown] of cases) assert.equal(redactedUrl(given), shown, given);
});

Deno.test("clientOptionsFromEnv() never shows the password of a bad BUS_EVENTS_API_URL", async () => {
  for (const url of BAD_URLS) {
    await assert.rejects(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: url, BUS_API_TOKEN: "x" }),
      (error) =>
        error instanceof ConfigError && error.variable === "BUS_EVENTS_API_URL" &&
        !describeError(error).includes("hunter") && !describeError(error).includes("ter2") &&
        !String(error.value).includes("hunter") && error.message.includes("[redacted]@"),
      url,
    );
  }
});

Deno.test("clientOptionsFromEnv() refuses a query or fragment in BUS_EVENTS_API_URL, without showing it", async () => {
  for (
    const url of ["http://127.0.0.1:8080/?access_token=QSECRET", "http://127.0.0.1:8080/#QSECRET"]
  ) {
    await assert.rejects(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: url, BUS_API_TOKEN: "x" }),
      (error) =>
        error instanceof ConfigError && error.variable === "BUS_EVENTS_API_URL" &&
        /expected a URL without a query or fragment/.test(error.message) &&
        !error.message.includes("QSECRET"),
      url,
    );
  }
});

Deno.test("parseCommandLine() never shows the password of a bad --events-url", () => {
  for (const url of BAD_URLS) {
    for (const args of [["config", "--events-url", url], ["config", `--events-url=${url}`]]) {
      const parsed = parseCommandLine(args);
      assert.equal(parsed.ok, false, url);
      const problem = parsed.ok ? "" : parsed.problem;
      assert.match(problem, /^Cannot use --events-url: current value is ".*\[redacted\]@/, url);
      assert.ok(!problem.includes("hunter") && !problem.includes("ter2"), problem);
    }
  }
  const query = parseCommandLine(["config", "--events-url", "http://h/?access_token=QSECRET"]);
  assert.ok(!query.ok && /without a query/.test(query.problem) && !query.problem.includes("QS"));
});

Deno.test("natsOptionsFromEnv() never shows the password of a bad NATS_URL, nor in the cause", async () => {
  for (
    const url of [
      "admin:hunter2@127.0.0.1:4222",
      "nats://admin:hunter2@bad host:4222",
      "nats://127.0.0.1:4222,nats://admin:hunter2@[bad",
      "nats://admin:hunter2@127.0.0.1:4222",
    ]
  ) {
    await assert.rejects(
      natsOptionsFromEnv({ NATS_URL: url }),
      (error) =>
        error instanceof ConfigError && error.variable === "NATS_URL" &&
        !describeError(error).includes(PASSWORD) &&
        !String((error.cause as Error | undefined)?.message).includes(PASSWORD),
      url,
    );
  }
});
