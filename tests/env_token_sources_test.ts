import assert from "node:assert/strict";
import { clientOptionsFromEnv } from "../src/env/contract.ts";
import { ConfigError, TransientError } from "../src/errors.ts";
import { assertConfigError, assertRejectsConfigError } from "./_env_helpers.ts";

type Env = Record<string, string | undefined>;

const siteUrl = "https://bus.example.test";
const token = "eyJhbGciOiJFZERTQSJ9.secret-payload.secret-signature";

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "env_token_sources_test_" });
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
    // A rotation that leaves the file empty fails that call, naming the file,
    // as a transient failure: it was read fine before (tests/token_file_rotation_test.ts).
    await Deno.writeTextFile(file, "");
    await assert.rejects(tokenOf(options), (error) => {
      assert.ok(error instanceof TransientError, `expected a TransientError, got ${error}`);
      assertConfigError(
        error.cause,
        "BUS_API_TOKEN_FILE",
        file,
        `Cannot use BUS_API_TOKEN_FILE: current value is "${file}", ` +
          `expected a non-empty token file at ${file}`,
      );
      return true;
    });
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
