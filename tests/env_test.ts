import assert from "node:assert/strict";
import {
  clientOptionsFromEnv,
  listenerOptionsFromEnv,
  parseBoolean,
  parseGoDuration,
} from "../src/env.ts";
import { ConfigError } from "../src/errors.ts";

type Env = Record<string, string | undefined>;

/** Asserts a ConfigError with exactly this message, variable and value. */
function assertConfigError(
  error: unknown,
  variable: string,
  value: string | undefined,
  message: string,
): true {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
  assert.equal(error.message, message);
  assert.equal(error.variable, variable);
  assert.equal(error.value, value);
  return true;
}

// ---------------------------------------------------------------- durations

// Go's own table (src/time/time_test.go, parseDurationTests), in nanoseconds.
// Negative entries are left out: they are valid Go but rejected here.
const goDurations: [string, bigint][] = [
  ["0", 0n],
  ["5s", 5_000_000_000n],
  ["30s", 30_000_000_000n],
  ["1478s", 1_478_000_000_000n],
  ["+5s", 5_000_000_000n],
  ["-0", 0n],
  ["+0", 0n],
  ["5.0s", 5_000_000_000n],
  ["5.6s", 5_600_000_000n],
  ["5.s", 5_000_000_000n],
  [".5s", 500_000_000n],
  ["1.0s", 1_000_000_000n],
  ["1.00s", 1_000_000_000n],
  ["1.004s", 1_004_000_000n],
  ["1.0040s", 1_004_000_000n],
  ["100.00100s", 100_001_000_000n],
  ["10ns", 10n],
  ["11us", 11_000n],
  ["12\u00b5s", 12_000n],
  ["12\u03bcs", 12_000n],
  ["13ms", 13_000_000n],
  ["14s", 14_000_000_000n],
  ["15m", 900_000_000_000n],
  ["16h", 57_600_000_000_000n],
  ["3h30m", 12_600_000_000_000n],
  ["10.5s4m", 250_500_000_000n],
  ["1h2m3s4ms5us6ns", 3_723_004_005_006n],
  ["39h9m14.425s", 140_954_425_000_000n],
  ["52763797000ns", 52_763_797_000n],
  ["0.3333333333333333333h", 1_200_000_000_000n],
  ["9007199254740993ns", 9_007_199_254_740_993n],
  ["9223372036854775807ns", 9_223_372_036_854_775_807n],
  ["9223372036854775.807us", 9_223_372_036_854_775_807n],
  ["9223372036s854ms775us807ns", 9_223_372_036_854_775_807n],
  ["0.100000000000000000000h", 360_000_000_000n],
  ["0.830103483285477580700h", 2_988_372_539_827n],
  // The examples of the brief and of the time package's documentation.
  ["300ms", 300_000_000n],
  ["1.5h", 5_400_000_000_000n],
  ["1m30s", 90_000_000_000n],
  ["2h45m", 9_900_000_000_000n],
  ["1us", 1_000n],
  ["1.s", 1_000_000_000n],
];

Deno.test("parseGoDuration() matches Go's ParseDuration table", () => {
  for (const [text, nanoseconds] of goDurations) {
    assert.equal(parseGoDuration(text), Number(nanoseconds) / 1e6, text);
  }
});

Deno.test("parseGoDuration() returns milliseconds", () => {
  assert.equal(parseGoDuration("250ms"), 250);
  assert.equal(parseGoDuration("1s"), 1000);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("1us"), 0.001);
});

Deno.test("parseGoDuration() throws TypeError for what Go rejects as syntax", () => {
  // Go's parseDurationErrors, plus the forms of the brief.
  const bad = ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xffff"];
  for (
    const text of [...bad, "hello \xffff world", "5", "1x", "abc", "1.5", "1h ", "1S", "1.5.5s"]
  ) {
    assert.throws(() => parseGoDuration(text), TypeError, JSON.stringify(text));
  }
});

Deno.test("parseGoDuration() names the missing or unknown unit", () => {
  assert.throws(() => parseGoDuration("5"), {
    name: "TypeError",
    message: 'Cannot parse duration "5": missing unit, expected one of ns, us, µs, ms, s, m, h',
  });
  assert.throws(() => parseGoDuration("1x"), {
    name: "TypeError",
    message:
      'Cannot parse duration "1x": unknown unit "x", expected one of ns, us, µs, ms, s, m, h',
  });
  assert.throws(() => parseGoDuration("abc"), {
    name: "TypeError",
    message: 'Cannot parse duration "abc": expected a number with a unit, e.g. 1m30s',
  });
});

Deno.test("parseGoDuration() throws RangeError for negative durations", () => {
  assert.throws(() => parseGoDuration("-1s"), {
    name: "RangeError",
    message: 'Cannot use duration "-1s": expected 0 or more',
  });
  assert.throws(() => parseGoDuration("-2m3.4s"), RangeError);
  assert.throws(() => parseGoDuration("-9223372036854775808ns"), RangeError);
  assert.equal(parseGoDuration("-0s"), 0);
});

Deno.test("parseGoDuration() throws RangeError beyond Go's int64 nanoseconds", () => {
  for (
    const text of [
      "9223372036854775810ns",
      "9223372036854775808ns",
      "9223372036854775.808us",
      "9223372036854ms775us808ns",
      "2562048h",
    ]
  ) {
    assert.throws(() => parseGoDuration(text), RangeError, text);
  }
});

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
  reconnect: { min: 1000, max: 30_000 },
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
    assert.deepEqual(listenerOptionsFromEnv(env).reconnect, retry);
  }
  assert.deepEqual(listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MIN: "5s" }).reconnect, {
    min: 5000,
    max: 30_000,
  });
  assert.deepEqual(listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MAX: "1m" }).reconnect, {
    min: 1000,
    max: 60_000,
  });
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

Deno.test("listenerOptionsFromEnv() rejects bad durations naming the variable and value", () => {
  const variables = ["BUS_EVENTS_LISTENER_RETRY_MIN", "BUS_EVENTS_LISTENER_RETRY_MAX"];
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
              "expected a non-negative Go duration, e.g. 500ms, 1s or 1m30s",
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

// ------------------------------------------------------------------- client

const siteUrl = "https://bus.example.test";
const collectionUrl = "https://bus.example.test/api/v1/events";
const token = "eyJhbGciOiJFZERTQSJ9.secret-payload.secret-signature";

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "env_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `text` to `dir/relative`, creating the parent directories. */
async function writeFile(dir: string, relative: string, text: string): Promise<string> {
  const path = `${dir}/${relative}`;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text);
  return path;
}

/** Resolves the token, whether a string or a provider. */
async function tokenOf(options: { token: string | (() => Promise<string>) }): Promise<string> {
  return typeof options.token === "string" ? options.token : await options.token();
}

/** Asserts a rejection with a ConfigError that never shows the token. */
async function assertRejectsConfigError(
  promise: Promise<unknown>,
  variable: string,
  value: string | undefined,
  message: string,
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assertConfigError(error, variable, value, message);
    assert.ok(!(error as Error).message.includes("secret"), "the token leaked");
    return true;
  });
}

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

Deno.test("clientOptionsFromEnv() takes BUS_API_TOKEN first, trimmed", async () => {
  const options = await clientOptionsFromEnv({
    BUS_EVENTS_API_URL: siteUrl,
    BUS_API_TOKEN: `${token}\r\n`,
  });
  assert.deepEqual(options, { baseUrl: siteUrl, token, tokenSource: "env BUS_API_TOKEN" });
});

Deno.test("clientOptionsFromEnv() rejects a malformed BUS_API_TOKEN without showing it", async () => {
  for (const value of ["secret token", " \t ", "secret\ntoken"]) {
    await assertRejectsConfigError(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN: value }),
      "BUS_API_TOKEN",
      "[redacted]",
      'Cannot use BUS_API_TOKEN: current value is "[redacted]", ' +
        "expected one token of printable ASCII characters without spaces",
    );
  }
});

Deno.test("clientOptionsFromEnv() prefers BUS_API_TOKEN to a token file to the config root", async () => {
  await withTempDir(async (dir) => {
    const file = await writeFile(dir, "file-token", "from-file\n");
    await writeFile(dir, "config/auth/api-token", "from-config-root");
    const env: Env = {
      BUS_EVENTS_API_URL: siteUrl,
      BUS_API_TOKEN: "from-env",
      BUS_API_TOKEN_FILE: file,
      BUS_CONFIG_DIR: `${dir}/config`,
      HOME: dir,
    };
    let options = await clientOptionsFromEnv(env);
    assert.equal(await tokenOf(options), "from-env");
    assert.equal(options.tokenSource, "env BUS_API_TOKEN");

    options = await clientOptionsFromEnv({ ...env, BUS_API_TOKEN: undefined });
    assert.equal(await tokenOf(options), "from-file");
    assert.equal(options.tokenSource, `file ${file}`);

    options = await clientOptionsFromEnv({ ...env, BUS_API_TOKEN: "", BUS_API_TOKEN_FILE: "" });
    assert.equal(await tokenOf(options), "from-config-root");
    assert.equal(options.tokenSource, `file ${dir}/config/auth/api-token`);
  });
});

Deno.test("clientOptionsFromEnv() prefers the tokenFile option to BUS_API_TOKEN_FILE", async () => {
  await withTempDir(async (dir) => {
    const optionFile = await writeFile(dir, "option-token", "from-option");
    const envFile = await writeFile(dir, "env-token", "from-env-file");
    const env = { BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN_FILE: envFile, HOME: dir };
    const options = await clientOptionsFromEnv(env, { tokenFile: optionFile });
    assert.equal(await tokenOf(options), "from-option");
    assert.equal(options.tokenSource, `file ${optionFile}`);
    // BUS_API_TOKEN still comes first.
    const fromEnv = await clientOptionsFromEnv({ ...env, BUS_API_TOKEN: "from-env" }, {
      tokenFile: optionFile,
    });
    assert.equal(fromEnv.token, "from-env");
  });
});

Deno.test("clientOptionsFromEnv() prefers BUS_CONFIG_DIR to XDG_CONFIG_HOME to HOME", async () => {
  await withTempDir(async (dir) => {
    const busConfig = await writeFile(dir, "bus-config/auth/api-token", "from-bus-config-dir");
    const xdg = await writeFile(dir, "xdg/bus/auth/api-token", "from-xdg");
    const home = await writeFile(dir, "home/.config/bus/auth/api-token", "from-home");
    const env: Env = {
      BUS_EVENTS_API_URL: siteUrl,
      BUS_CONFIG_DIR: `${dir}/bus-config`,
      XDG_CONFIG_HOME: `${dir}/xdg/`, // a trailing slash is fine
      HOME: `${dir}/home`,
    };
    let options = await clientOptionsFromEnv(env);
    assert.equal(await tokenOf(options), "from-bus-config-dir");
    assert.equal(options.tokenSource, `file ${busConfig}`);

    options = await clientOptionsFromEnv({ ...env, BUS_CONFIG_DIR: undefined });
    assert.equal(await tokenOf(options), "from-xdg");
    assert.equal(options.tokenSource, `file ${xdg}`);

    options = await clientOptionsFromEnv({ ...env, BUS_CONFIG_DIR: "", XDG_CONFIG_HOME: "" });
    assert.equal(await tokenOf(options), "from-home");
    assert.equal(options.tokenSource, `file ${home}`);
  });
});

Deno.test("clientOptionsFromEnv() looks only in the first config root that is set", async () => {
  await withTempDir(async (dir) => {
    await writeFile(dir, "home/.config/bus/auth/api-token", "from-home");
    await assertRejectsConfigError(
      clientOptionsFromEnv({
        BUS_EVENTS_API_URL: siteUrl,
        XDG_CONFIG_HOME: `${dir}/xdg`,
        HOME: `${dir}/home`,
      }),
      "BUS_API_TOKEN",
      undefined,
      "Cannot use BUS_API_TOKEN: current value is unset, expected a token in BUS_API_TOKEN, " +
        `in a file named by BUS_API_TOKEN_FILE, or in ${dir}/xdg/bus/auth/api-token`,
    );
  });
});

Deno.test("clientOptionsFromEnv() reports every place it looked when no token exists", async () => {
  await withTempDir(async (dir) => {
    await assertRejectsConfigError(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, HOME: dir }),
      "BUS_API_TOKEN",
      undefined,
      "Cannot use BUS_API_TOKEN: current value is unset, expected a token in BUS_API_TOKEN, " +
        `in a file named by BUS_API_TOKEN_FILE, or in ${dir}/.config/bus/auth/api-token`,
    );
  });
});

Deno.test("clientOptionsFromEnv() returns a provider that re-reads a rotated token file", async () => {
  await withTempDir(async (dir) => {
    const file = await writeFile(dir, "token", "first-token\n");
    const options = await clientOptionsFromEnv({
      BUS_EVENTS_API_URL: siteUrl,
      BUS_API_TOKEN_FILE: file,
      HOME: dir,
    });
    assert.equal(typeof options.token, "function");
    assert.equal(await tokenOf(options), "first-token");
    await Deno.writeTextFile(file, "second-token");
    assert.equal(await tokenOf(options), "second-token");
    // A rotation that leaves the file empty fails that call, naming the file.
    await Deno.writeTextFile(file, "");
    await assertRejectsConfigError(
      tokenOf(options),
      "BUS_API_TOKEN_FILE",
      file,
      `Cannot use BUS_API_TOKEN_FILE: current value is "${file}", ` +
        `expected a non-empty token file at ${file}`,
    );
  });
});

Deno.test("clientOptionsFromEnv() rejects an empty token file naming its path", async () => {
  await withTempDir(async (dir) => {
    for (const text of ["", "\n", "  \r\n\t"]) {
      const file = await writeFile(dir, "token", text);
      await assertRejectsConfigError(
        clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, HOME: dir }, { tokenFile: file }),
        "tokenFile",
        file,
        `Cannot use tokenFile: current value is "${file}", ` +
          `expected a non-empty token file at ${file}`,
      );
    }
    const rootFile = await writeFile(dir, "config/auth/api-token", "");
    await assertRejectsConfigError(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, BUS_CONFIG_DIR: `${dir}/config` }),
      "BUS_CONFIG_DIR",
      `${dir}/config`,
      `Cannot use BUS_CONFIG_DIR: current value is "${dir}/config", ` +
        `expected a non-empty token file at ${rootFile}`,
    );
  });
});

Deno.test("clientOptionsFromEnv() rejects an unreadable token file naming its path", async () => {
  await withTempDir(async (dir) => {
    const missing = `${dir}/missing`;
    await assertRejectsConfigError(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN_FILE: missing }),
      "BUS_API_TOKEN_FILE",
      missing,
      `Cannot use BUS_API_TOKEN_FILE: current value is "${missing}", ` +
        `expected a readable token file at ${missing} (ENOENT)`,
    );
    // In the config root, a directory where the file belongs is an error, not "no token".
    await Deno.mkdir(`${dir}/.config/bus/auth/api-token`, { recursive: true });
    await assert.rejects(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, HOME: dir }),
      (error) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, "HOME");
        assert.match(
          error.message,
          new RegExp(`expected a readable token file at ${dir}/\\.config/bus/auth/api-token \\(E`),
        );
        return true;
      },
    );
  });
});

Deno.test("clientOptionsFromEnv() rejects a token file holding more than one token", async () => {
  await withTempDir(async (dir) => {
    const file = await writeFile(dir, "token", "secret-one\nsecret-two\n");
    await assertRejectsConfigError(
      clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN_FILE: file }),
      "BUS_API_TOKEN_FILE",
      file,
      `Cannot use BUS_API_TOKEN_FILE: current value is "${file}", expected a token file at ` +
        `${file} holding one token of printable ASCII characters without spaces`,
    );
  });
});

Deno.test("clientOptionsFromEnv() never puts the token in tokenSource", async () => {
  await withTempDir(async (dir) => {
    const file = await writeFile(dir, "token", token);
    await writeFile(dir, ".config/bus/auth/api-token", token);
    const sources = [
      await clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN: token }),
      await clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, BUS_API_TOKEN_FILE: file }),
      await clientOptionsFromEnv({ BUS_EVENTS_API_URL: siteUrl, HOME: dir }),
    ];
    for (const options of sources) {
      assert.equal(await tokenOf(options), token);
      assert.ok(!options.tokenSource.includes("secret"), options.tokenSource);
    }
  });
});
