/** parseCommandLine(): commands, flags and the usage problems it reports. */
import assert from "node:assert/strict";
import { parseCommandLine } from "../src/cli/args.ts";

function problem(args: string[]): string {
  const result = parseCommandLine(args);
  assert.equal(result.ok, false, `expected a usage problem for ${args.join(" ")}`);
  return result.ok ? "" : result.problem;
}

Deno.test("parseCommandLine() reads host flags in both spellings and the modules", () => {
  assert.deepEqual(
    parseCommandLine([
      "host",
      "--events-url",
      "http://127.0.0.1:8080",
      "--health-port=8081",
      "--health-host",
      "0.0.0.0",
      "--log-format=json",
      "--log-level",
      "warn",
      "--token-file",
      "/run/token",
      "a.ts",
      "--",
      "--odd-name.ts",
    ]),
    {
      ok: true,
      command: {
        kind: "host",
        flags: {
          eventsUrl: "http://127.0.0.1:8080",
          healthPort: 8081,
          healthHost: "0.0.0.0",
          logFormat: "json",
          logLevel: "warning",
          tokenFile: "/run/token",
        },
        modules: ["a.ts", "--odd-name.ts"],
        parentWatch: true,
      },
    },
  );
});

Deno.test("parseCommandLine() turns the parent watch off with --no-parent-watch, and refuses a value for it", () => {
  assert.deepEqual(parseCommandLine(["host", "--no-parent-watch", "a.ts"]), {
    ok: true,
    command: { kind: "host", flags: {}, modules: ["a.ts"], parentWatch: false },
  });
  assert.match(problem(["host", "--no-parent-watch=1", "a.ts"]), /it takes no value/);
  assert.match(problem(["config", "--no-parent-watch"]), /Unknown option "--no-parent-watch"/);
});

Deno.test("parseCommandLine() reads dev-server with and without a port", () => {
  assert.deepEqual(parseCommandLine(["dev-server"]), {
    ok: true,
    command: { kind: "dev-server", port: 0, parentWatch: true },
  });
  for (const args of [["--port", "8080"], ["--port=8080"]]) {
    assert.deepEqual(parseCommandLine(["dev-server", ...args, "--no-parent-watch"]), {
      ok: true,
      command: { kind: "dev-server", port: 8080, parentWatch: false },
    });
  }
  assert.deepEqual(parseCommandLine(["dev-server", "--help"]), {
    ok: true,
    command: { kind: "help", topic: "dev-server" },
  });
  assert.deepEqual(parseCommandLine(["help", "dev-server"]), {
    ok: true,
    command: { kind: "help", topic: "dev-server" },
  });
});

Deno.test("parseCommandLine() refuses a dev-server port that is not one, naming the value", () => {
  for (const value of ["abc", "-1", "65536", "80.5", ""]) {
    const expected = `Cannot use --port: current value is ${
      JSON.stringify(value)
    }, expected an integer 0-65535`;
    assert.ok(problem(["dev-server", `--port=${value}`]).startsWith(expected), value);
  }
  assert.match(problem(["dev-server", "--port"]), /^Cannot use --port: it needs a value$/);
  assert.match(problem(["dev-server", "8080"]), /"8080": dev-server takes no arguments/);
  assert.match(
    problem(["dev-server", "--hostname=0.0.0.0"]),
    /Unknown option "--hostname": see bus-integration dev-server --help/,
  );
  assert.match(problem(["dev-server", "-p"]), /Unknown option "-p"/);
});

Deno.test("parseCommandLine() reports a missing command as a usage problem with the main help", () => {
  assert.deepEqual(parseCommandLine([]), { ok: false, problem: "Missing command", help: "main" });
});

Deno.test("parseCommandLine() reads help, version and config --json", () => {
  assert.deepEqual(parseCommandLine(["help"]), {
    ok: true,
    command: { kind: "help", topic: "main" },
  });
  assert.deepEqual(parseCommandLine(["--help"]), {
    ok: true,
    command: { kind: "help", topic: "main" },
  });
  assert.deepEqual(parseCommandLine(["help", "host"]), {
    ok: true,
    command: { kind: "help", topic: "host" },
  });
  assert.deepEqual(parseCommandLine(["config", "-h"]), {
    ok: true,
    command: { kind: "help", topic: "config" },
  });
  assert.deepEqual(parseCommandLine(["-V"]), { ok: true, command: { kind: "version" } });
  assert.deepEqual(parseCommandLine(["config", "--json"]), {
    ok: true,
    command: { kind: "config", flags: {}, json: true },
  });
});

Deno.test("parseCommandLine() refuses every token flag without echoing its value", () => {
  for (
    const args of [["host", "--token", "s3cret", "a.ts"], ["host", "--token=s3cret", "a.ts"], [
      "config",
      "--api-token=s3cret",
    ]]
  ) {
    const message = problem(args);
    assert.match(message, /Cannot take a token on the command line/);
    assert.match(message, /BUS_API_TOKEN or use --token-file/);
    assert.doesNotMatch(message, /s3cret/);
  }
});

Deno.test("parseCommandLine() names the bad argument", () => {
  assert.match(
    problem(["serve"]),
    /Unknown command "serve": expected host, config, dev-server, redrive or help/,
  );
  assert.match(problem(["host", "--bogus=x", "a.ts"]), /Unknown option "--bogus"/);
  assert.doesNotMatch(problem(["host", "--bogus=secret", "a.ts"]), /secret/);
  assert.match(problem(["host", "-x", "a.ts"]), /Unknown option "-x"/);
  assert.match(problem(["host"]), /give at least one module/);
  assert.match(problem(["host", "--health-port"]), /--health-port: it needs a value/);
  assert.match(
    problem(["host", "--health-port", "http", "a.ts"]),
    /--health-port: current value is "http", expected an integer 0-65535/,
  );
  assert.match(problem(["host", "--health-port", "70000", "a.ts"]), /"70000"/);
  assert.match(problem(["host", "--log-format", "xml", "a.ts"]), /expected text or json/);
  assert.match(problem(["host", "--log-level", "loud", "a.ts"]), /expected trace, debug/);
  assert.match(problem(["host", "--events-url", "ftp://x", "a.ts"]), /expected an http\(s\) URL/);
  assert.doesNotMatch(
    problem(["host", "--events-url", "https://u:pw@bus.test", "a.ts"]),
    /pw/,
  );
  assert.match(problem(["host", "--health-host", "::", "a.ts"]), /without --health-port/);
  assert.match(problem(["config", "extra"]), /config takes no arguments/);
  assert.match(problem(["host", "--json", "a.ts"]), /Unknown option "--json"/);
});
