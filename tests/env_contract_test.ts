import assert from "node:assert/strict";
import { clientOptionsFromEnv, listenerOptionsFromEnv, parseBoolean } from "../src/env/contract.ts";
import { ConfigError } from "../src/errors.ts";
import { assertConfigError, assertRejectsConfigError } from "./_env_helpers.ts";

// ----------------------------------------------------------------- booleans

Deno.test("parseBoolean() accepts 1, 0, true and false in any case", () => {
  for (const text of ["1", "true", "TRUE", "True"]) assert.equal(parseBoolean(text), true);
  for (const text of ["0", "false", "FALSE", "False"]) assert.equal(parseBoolean(text), false);
});

Deno.test("parseBoolean() rejects every other form", () => {
  for (const text of ["", "yes", "no", "on", "off", "2", "t", " 1", "1 "]) {
    assert.throws(() => parseBoolean(text), TypeError, JSON.stringify(text));
  }
});

// ----------------------------------------------------------------- listener

const listenerDefaults = {
  reconnect: { min: 1000, max: 30_000, healthyAfter: 10_000 },
  required: true,
  tokenRefresh: false,
};

Deno.test("listenerOptionsFromEnv() returns the contract's defaults when nothing is set", () => {
  assert.deepEqual(listenerOptionsFromEnv({}), listenerDefaults);
});

Deno.test("listenerOptionsFromEnv() treats empty variables as unset", () => {
  const env = {
    BUS_EVENTS_LISTENER_RETRY: "",
    BUS_EVENTS_LISTENER_RETRY_MIN: "",
    BUS_EVENTS_LISTENER_RETRY_MAX: "",
    BUS_EVENTS_LISTENER_HEALTHY_AFTER: "",
    BUS_EVENTS_LISTENER_REQUIRED: "",
    BUS_EVENTS_TOKEN_REFRESH: "",
  };
  assert.deepEqual(listenerOptionsFromEnv(env), listenerDefaults);
});

Deno.test("listenerOptionsFromEnv() reads the contract's documented example", () => {
  const env = {
    BUS_EVENTS_LISTENER_RETRY: "1",
    BUS_EVENTS_LISTENER_RETRY_MIN: "1s",
    BUS_EVENTS_LISTENER_RETRY_MAX: "30s",
    BUS_EVENTS_LISTENER_REQUIRED: "1",
    BUS_EVENTS_TOKEN_REFRESH: "0",
  };
  assert.deepEqual(listenerOptionsFromEnv(env), listenerDefaults);
});

Deno.test("listenerOptionsFromEnv() reads every boolean form of every switch", () => {
  const forms: [string, boolean][] = [
    ["1", true],
    ["true", true],
    ["TRUE", true],
    ["0", false],
    ["false", false],
    ["False", false],
  ];
  for (const [text, value] of forms) {
    const options = listenerOptionsFromEnv({
      BUS_EVENTS_LISTENER_RETRY: text,
      BUS_EVENTS_LISTENER_REQUIRED: text,
      BUS_EVENTS_TOKEN_REFRESH: text,
    });
    assert.deepEqual(options, {
      reconnect: value && listenerDefaults.reconnect,
      required: value,
      tokenRefresh: value,
    });
  }
});

Deno.test("listenerOptionsFromEnv() reads the retry bounds as Go durations", () => {
  const cases: [string, string, { min: number; max: number }][] = [
    ["250ms", "1m30s", { min: 250, max: 90_000 }],
    ["1.5s", "1.5h", { min: 1500, max: 5_400_000 }],
    ["500us", "2h45m", { min: 0.5, max: 9_900_000 }],
    ["10s", "10s", { min: 10_000, max: 10_000 }],
  ];
  for (const [min, max, retry] of cases) {
    const env = { BUS_EVENTS_LISTENER_RETRY_MIN: min, BUS_EVENTS_LISTENER_RETRY_MAX: max };
    assert.deepEqual(listenerOptionsFromEnv(env).reconnect, { ...retry, healthyAfter: 10_000 });
  }
  assert.deepEqual(listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MIN: "5s" }).reconnect, {
    min: 5000,
    max: 30_000,
    healthyAfter: 10_000,
  });
  assert.deepEqual(listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MAX: "1m" }).reconnect, {
    min: 1000,
    max: 60_000,
    healthyAfter: 10_000,
  });
});

Deno.test("listenerOptionsFromEnv() reads HEALTHY_AFTER as a Go duration", () => {
  for (const [text, ms] of [["2s", 2000], ["1m30s", 90_000], ["0", 0], ["750ms", 750]] as const) {
    const { reconnect } = listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_HEALTHY_AFTER: text });
    assert.ok(reconnect);
    assert.equal(reconnect.healthyAfter, ms, text);
  }
});

Deno.test("listenerOptionsFromEnv() rejects bad booleans naming the variable and value", () => {
  const variables = [
    "BUS_EVENTS_LISTENER_RETRY",
    "BUS_EVENTS_LISTENER_REQUIRED",
    "BUS_EVENTS_TOKEN_REFRESH",
  ];
  for (const variable of variables) {
    for (const value of ["yes", "2", "on"]) {
      assert.throws(
        () => listenerOptionsFromEnv({ [variable]: value }),
        (error) =>
          assertConfigError(
            error,
            variable,
            value,
            `Cannot use ${variable}: current value is "${value}", expected 1, 0, true or false`,
          ),
      );
    }
  }
});

/** The largest duration each variable takes, as its message says it. */
const LIMITS: Record<string, string> = {
  BUS_EVENTS_LISTENER_RETRY_MIN: "596h31m23.647s (2147483647 ms, the longest a timer can wait)",
  BUS_EVENTS_LISTENER_RETRY_MAX: "596h31m23.647s (2147483647 ms, the longest a timer can wait)",
  BUS_EVENTS_LISTENER_HEALTHY_AFTER: "2562047h47m16.854775807s",
};

Deno.test("listenerOptionsFromEnv() rejects bad durations naming the variable and value", () => {
  const variables = [
    "BUS_EVENTS_LISTENER_RETRY_MIN",
    "BUS_EVENTS_LISTENER_RETRY_MAX",
    "BUS_EVENTS_LISTENER_HEALTHY_AFTER",
  ];
  for (const variable of variables) {
    for (const value of ["5", "1x", "-1s", "abc", "1.5", "1 s"]) {
      assert.throws(
        () => listenerOptionsFromEnv({ [variable]: value }),
        (error) => {
          assertConfigError(
            error,
            variable,
            value,
            `Cannot use ${variable}: current value is ${JSON.stringify(value)}, ` +
              `expected a Go duration from 0 to ${LIMITS[variable]}, e.g. 500ms, 1s or 1m30s`,
          );
          // The parser's own error says what exactly is wrong.
          assert.ok((error as Error).cause instanceof Error);
          return true;
        },
      );
    }
  }
});

Deno.test("listenerOptionsFromEnv() rejects RETRY_MIN above RETRY_MAX", () => {
  assert.throws(
    () =>
      listenerOptionsFromEnv({
        BUS_EVENTS_LISTENER_RETRY_MIN: "1m",
        BUS_EVENTS_LISTENER_RETRY_MAX: "30s",
      }),
    (error) =>
      assertConfigError(
        error,
        "BUS_EVENTS_LISTENER_RETRY_MIN",
        "1m",
        'Cannot use BUS_EVENTS_LISTENER_RETRY_MIN: current value is "1m", ' +
          "expected a duration of at most BUS_EVENTS_LISTENER_RETRY_MAX (30s)",
      ),
  );
  assert.throws(
    () => listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MIN: "31s" }),
    (error) =>
      assertConfigError(
        error,
        "BUS_EVENTS_LISTENER_RETRY_MIN",
        "31s",
        'Cannot use BUS_EVENTS_LISTENER_RETRY_MIN: current value is "31s", ' +
          "expected a duration of at most BUS_EVENTS_LISTENER_RETRY_MAX (30s)",
      ),
  );
});

Deno.test("listenerOptionsFromEnv() blames RETRY_MAX when it is below the default minimum", () => {
  for (const value of ["500ms", "0"]) {
    assert.throws(
      () => listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MAX: value }),
      (error) =>
        assertConfigError(
          error,
          "BUS_EVENTS_LISTENER_RETRY_MAX",
          value,
          `Cannot use BUS_EVENTS_LISTENER_RETRY_MAX: current value is "${value}", ` +
            "expected a duration of at least BUS_EVENTS_LISTENER_RETRY_MIN (default 1s)",
        ),
    );
  }
});

Deno.test("listenerOptionsFromEnv() rejects a RETRY_MIN of 0", () => {
  for (const value of ["0", "0s", "0.0ms"]) {
    assert.throws(
      () => listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MIN: value }),
      (error) =>
        assertConfigError(
          error,
          "BUS_EVENTS_LISTENER_RETRY_MIN",
          value,
          `Cannot use BUS_EVENTS_LISTENER_RETRY_MIN: current value is "${value}", ` +
            "expected a duration above 0, e.g. 500ms or 1s",
        ),
    );
  }
});

Deno.test("listenerOptionsFromEnv() checks the bounds even when retry is off", () => {
  assert.throws(
    () =>
      listenerOptionsFromEnv({
        BUS_EVENTS_LISTENER_RETRY: "0",
        BUS_EVENTS_LISTENER_RETRY_MIN: "1x",
      }),
    ConfigError,
  );
  assert.equal(listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY: "false" }).reconnect, false);
});

Deno.test("listenerOptionsFromEnv() reads the process environment when env is omitted", () => {
  const name = "BUS_EVENTS_LISTENER_RETRY_MIN";
  const saved = Deno.env.get(name);
  Deno.env.set(name, "123ms");
  try {
    const { reconnect } = listenerOptionsFromEnv();
    assert.ok(reconnect);
    assert.equal(reconnect.min, 123);
  } finally {
    if (saved === undefined) Deno.env.delete(name);
    else Deno.env.set(name, saved);
  }
});

// ---------------------------------------------------------------------- url

const siteUrl = "https://bus.example.test";
const collectionUrl = "https://bus.example.test/api/v1/events";
const token = "eyJhbGciOiJFZERTQSJ9.secret-payload.secret-signature";

Deno.test("clientOptionsFromEnv() keeps both URL forms as given", async () => {
  for (const url of [siteUrl, `${siteUrl}/`, collectionUrl, "http://127.0.0.1:8080"]) {
    const options = await clientOptionsFromEnv({ BUS_EVENTS_API_URL: url, BUS_API_TOKEN: token });
    assert.equal(options.baseUrl, url);
  }
});

Deno.test("clientOptionsFromEnv() rejects an unset BUS_EVENTS_API_URL", async () => {
  const expected = "expected an http(s) URL, e.g. https://bus.example.test or " +
    "https://bus.example.test/api/v1/events";
  await assertRejectsConfigError(
    clientOptionsFromEnv({ BUS_API_TOKEN: token }),
    "BUS_EVENTS_API_URL",
    undefined,
    `Cannot use BUS_EVENTS_API_URL: current value is unset, ${expected}`,
  );
  await assertRejectsConfigError(
    clientOptionsFromEnv({ BUS_EVENTS_API_URL: "", BUS_API_TOKEN: token }),
    "BUS_EVENTS_API_URL",
    "",
    `Cannot use BUS_EVENTS_API_URL: current value is "", ${expected}`,
  );
});

Deno.test("clientOptionsFromEnv() rejects a BUS_EVENTS_API_URL that is not http(s)", async () => {
  const expected = "expected an http(s) URL, e.g. https://bus.example.test or " +
    "https://bus.example.test/api/v1/events";
  for (const url of ["bus.example.test", "not a url", "ftp://bus.example.test", "file:///tmp"]) {
    await assertRejectsConfigError(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: url, BUS_API_TOKEN: token }),
      "BUS_EVENTS_API_URL",
      url,
      `Cannot use BUS_EVENTS_API_URL: current value is "${url}", ${expected}`,
    );
  }
});

Deno.test("clientOptionsFromEnv() rejects credentials in the URL without showing them", async () => {
  await assertRejectsConfigError(
    clientOptionsFromEnv({
      BUS_EVENTS_API_URL: "https://user:secret@bus.example.test/api/v1/events",
      BUS_API_TOKEN: token,
    }),
    "BUS_EVENTS_API_URL",
    "https://[redacted]@bus.example.test/api/v1/events",
    'Cannot use BUS_EVENTS_API_URL: current value is "https://[redacted]@bus.example.test' +
      '/api/v1/events", expected a URL without credentials (give the token in BUS_API_TOKEN ' +
      "or a token file)",
  );
});

// ------------------------------------------------------------- idle timeout

Deno.test("clientOptionsFromEnv() reads BUS_EVENTS_STREAM_IDLE_TIMEOUT as ms; 0 or unset is no bound", async () => {
  const base = { BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN: token };
  const cases: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ["", undefined],
    ["0", undefined],
    ["0s", undefined],
    ["45s", 45_000],
    ["1m30s", 90_000],
    // A part of a millisecond is a bound of one, not none.
    ["400us", 1],
    ["596h31m23.647s", 2_147_483_647],
  ];
  for (const [value, expected] of cases) {
    const options = await clientOptionsFromEnv({ ...base, BUS_EVENTS_STREAM_IDLE_TIMEOUT: value });
    assert.equal(options.idleTimeout, expected, String(value));
  }
});

Deno.test("clientOptionsFromEnv() rejects a BUS_EVENTS_STREAM_IDLE_TIMEOUT that is no duration in range", async () => {
  const base = { BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN: token };
  const expected = "expected a Go duration from 0 to 596h31m23.647s (2147483647 ms, the longest " +
    "a timer can wait), e.g. 500ms, 1s or 1m30s";
  for (const value of ["30", "abc", "-1s", "596h31m23.648s", "1e3s"]) {
    await assertRejectsConfigError(
      clientOptionsFromEnv({ ...base, BUS_EVENTS_STREAM_IDLE_TIMEOUT: value }),
      "BUS_EVENTS_STREAM_IDLE_TIMEOUT",
      value,
      `Cannot use BUS_EVENTS_STREAM_IDLE_TIMEOUT: current value is "${value}", ${expected}`,
    );
  }
});
