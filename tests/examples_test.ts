/**
 * The README's examples, run as written: the request/reply script, the
 * standalone worker surviving a server restart and stopping on SIGTERM (and
 * logging where the README says), the reference server's curl lines, and
 * the systemd unit and Dockerfile of `examples/`.
 */
import assert from "node:assert/strict";
import { EventsClient, Requester } from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { parseCommandLine } from "../src/cli/args.ts";
import { baseEnv } from "./_child.ts";
import { until } from "./_poll.ts";

const readme = await Deno.readTextFile("README.md");

/** The README's level-2 section under `heading` (its code may hold `# …` lines). */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}"`);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The first fenced block of `language` in `text`. */
function firstBlock(text: string, language: string): string {
  const open = text.indexOf("```" + language + "\n");
  assert.ok(open >= 0, `no ${language} block`);
  const from = open + language.length + 4;
  return text.slice(from, text.indexOf("```\n", from));
}

/** Collects a child's output as it arrives. */
function collect(stream: ReadableStream<Uint8Array>): { text: string; done: Promise<void> } {
  const sink = { text: "", done: Promise.resolve() };
  sink.done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink.text += chunk;
  })();
  return sink;
}

Deno.test("examples/request_reply.ts runs as written", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-env", "examples/request_reply.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.equal(
    stdout,
    [
      "sum: 6",
      "error response: empty_input nothing to add",
      "gathered: alpha=9 beta=9",
      "missing: none",
      "",
    ].join("\n"),
  );
});

const TYPED_EXAMPLES = {
  "examples/typed_zod.ts": [
    "quote: tea-100g 9.00",
    "error response: invalid_payload Cannot handle example.quote.request: the payload does not match the schema: payload.quantity: Too small: expected number to be >0",
  ],
  "examples/typed_valibot.ts": [
    "greeting: HELLO, ADA!",
    "error response: invalid_reply Cannot reply to example.greet.request: the reply does not match the schema: reply.greeting: Invalid length: Expected <=24 but received 46",
  ],
};
for (const [example, lines] of Object.entries(TYPED_EXAMPLES)) {
  Deno.test(`${example} runs as written: a typed worker and a typed request`, async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", "--allow-env", example],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(new TextDecoder().decode(output.stdout), [...lines, ""].join("\n"));
  });
}

Deno.test("examples/standalone_worker.ts survives a server restart and drains on SIGTERM", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  let served = await api.serve({ hostname: "127.0.0.1", port: 0 });
  const port = served.port;
  const token = await api.mintToken();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-env", "examples/standalone_worker.ts"],
    env: {
      BUS_EVENTS_API_URL: served.url,
      BUS_API_TOKEN: token,
      BUS_EVENTS_LISTENER_RETRY_MIN: "50ms",
      BUS_EVENTS_LISTENER_RETRY_MAX: "200ms",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = collect(child.stderr);
  const out = collect(child.stdout);
  const client = new EventsClient({ baseUrl: served.url, token });
  const requester = new Requester({
    transport: client,
    responseNames: ["example.greet.response"],
    reconnect: { min: 50, max: 200 },
    timeout: 10_000,
  });
  try {
    await until(() => log.text.includes("readiness: ready"), 10_000, "worker ready");
    // LogTape's console sink prints info records with console.info: stdout.
    await until(() => out.text.includes("Stream open for"), 10_000, "the info record");
    assert.doesNotMatch(log.text, /Stream open for/);
    assert.doesNotMatch(out.text, /readiness:/);
    assert.deepEqual(await requester.request("example.greet.request", { name: "Ada" }), {
      greeting: "Hello, Ada!",
    });
    await assert.rejects(requester.request("example.greet.request", { name: "" }), {
      name: "ResponseError",
      message: "payload.name is empty",
    });

    await served.close();
    await until(() => log.text.includes("readiness: not ready"), 10_000, "worker noticed");
    served = await api.serve({ hostname: "127.0.0.1", port });
    await until(
      () => log.text.lastIndexOf("readiness: ready") > log.text.indexOf("readiness: not ready"),
      10_000,
      "worker back",
    );
    assert.deepEqual(await requester.request("example.greet.request", { name: "Grace" }), {
      greeting: "Hello, Grace!",
    });

    child.kill("SIGTERM");
    const status = await child.status;
    await log.done;
    await out.done;
    assert.equal(status.code, 0, log.text);
    assert.match(log.text, /worker stopped/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await requester.close();
    await api.close();
  }
});

Deno.test("README says where the standalone worker's LogTape records go, as the test above sees them", () => {
  const text = section("## Write a worker").replace(/\s+/g, " ");
  assert.match(text, /`console\.info` for trace to info, which print to \*\*stdout\*\*/);
  assert.match(text, /`console\.error` for warnings and worse, which print to stderr/);
  assert.match(text, /logs `Stream open for example\.greet\.request` on stdout/);
});

Deno.test("README's curl lines against the reference server run as written, each ends, and print what it shows", async () => {
  const block = firstBlock(section("## The reference Events API server"), "sh");
  assert.match(block, /reference-server > bus-ref\.env &/);
  const dir = await Deno.makeTempDir();
  try {
    // The one change: the env file goes to a directory of this test's own,
    // so that two runs of the suite cannot read each other's server.
    const script = block.replaceAll("bus-ref.env", `${dir}/bus-ref.env`).replaceAll(
      `./${dir}`,
      dir,
    );
    const child = new Deno.Command("bash", {
      args: ["-c", script],
      cwd: new URL("..", import.meta.url).pathname,
      env: baseEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    const ended = Promise.all([child.status, out.done, err.done]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), 30_000)
    );
    const outcome = await Promise.race([ended, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
      await child.status;
      assert.fail(`the README's curl block did not end within 30 s:\n${out.text}\n${err.text}`);
    }
    // Every output line the README shows after a `#` is in what curl printed.
    const shown = block.split("\n").filter((line) => /^# (HTTP\/|\{|id: |data: )/.test(line));
    assert.ok(shown.length >= 5, block);
    for (const line of shown) {
      for (const part of line.slice(2).split("…").map((p) => p.trim()).filter(Boolean)) {
        assert.ok(out.text.includes(part), `"${part}" is not in:\n${out.text}\n${err.text}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A unit file's values of `key`. */
function unitValues(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!);
}

Deno.test("examples/bus-integration.service starts the bin directly with a valid command line", async () => {
  const unit = await Deno.readTextFile("examples/bus-integration.service");
  const [execStart, ...more] = unitValues(unit, "ExecStart");
  assert.equal(more.length, 0);
  const [bin, ...args] = execStart!.split(" ");
  assert.match(bin!, /\/node_modules\/\.bin\/bus-integration$/, "not through npx or a shell");
  const parsed = parseCommandLine(args);
  assert.ok(parsed.ok && parsed.command.kind === "host", JSON.stringify(parsed));
  assert.deepEqual(unitValues(unit, "KillSignal"), ["SIGTERM"]);
  assert.deepEqual(unitValues(unit, "RestartPreventExitStatus"), ["2"]);
  // The stop timeout leaves room for the host's 30 s drain.
  assert.ok(Number(unitValues(unit, "TimeoutStopSec")[0]) > 30);
  assert.ok(unitValues(unit, "Environment").includes("BUS_API_TOKEN_FILE=%d/bus-api-token"));
  assert.doesNotMatch(unit, /BUS_API_TOKEN=/, "no token in the unit");
});

const systemdAnalyze = await new Deno.Command("systemd-analyze", { args: ["--version"] })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "examples/bus-integration.service passes systemd-analyze verify without a warning",
  ignore: !systemdAnalyze,
  async fn() {
    const unit = await Deno.readTextFile("examples/bus-integration.service");
    const dir = await Deno.makeTempDir();
    try {
      // verify wants ExecStart to exist: a stand-in bin under a temporary /opt.
      const opt = `${dir}/opt/echo-worker`;
      await Deno.mkdir(`${opt}/node_modules/.bin`, { recursive: true });
      await Deno.writeTextFile(`${opt}/node_modules/.bin/bus-integration`, "#!/bin/sh\n", {
        mode: 0o755,
      });
      await Deno.writeTextFile(
        `${dir}/echo-worker.service`,
        unit.replaceAll("/opt/echo-worker", opt),
      );
      const output = await new Deno.Command("systemd-analyze", {
        args: ["verify", `${dir}/echo-worker.service`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(output.stderr) +
        new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0, said);
      assert.equal(said.trim(), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A Dockerfile instruction's exec-form array. */
function execForm(dockerfile: string, instruction: string): string[] {
  const line = new RegExp(`^${instruction} (\\[.*\\])$`, "m").exec(dockerfile);
  assert.ok(line, `no exec-form ${instruction}`);
  return JSON.parse(line[1]!);
}

Deno.test("examples/Dockerfile runs the bin directly and its health check asks a real /readyz", async () => {
  const dockerfile = await Deno.readTextFile("examples/Dockerfile");
  const entrypoint = execForm(dockerfile, "ENTRYPOINT");
  assert.deepEqual(entrypoint, ["node_modules/.bin/bus-integration"], "not npx, not sh -c");
  const parsed = parseCommandLine(execForm(dockerfile, "CMD"));
  assert.ok(parsed.ok && parsed.command.kind === "host", JSON.stringify(parsed));
  assert.equal(parsed.command.flags.healthPort, 8081);
  assert.equal(parsed.command.flags.healthHost, "0.0.0.0");
  assert.match(dockerfile, /^STOPSIGNAL SIGTERM$/m);

  // The HEALTHCHECK command under Node, against a health endpoint that
  // answers 200 and then 503; the one change is a free port for its 8081.
  const healthcheck = /^\s+CMD (\[.*\])$/m.exec(
    dockerfile.slice(dockerfile.indexOf("HEALTHCHECK")),
  );
  assert.ok(healthcheck);
  const [node, ...nodeArgs] = JSON.parse(healthcheck[1]!) as string[];
  assert.equal(node, "node");
  assert.ok(
    nodeArgs.some((arg) => arg.includes("http://127.0.0.1:8081/readyz")),
    nodeArgs.join(" "),
  );
  let ready = true;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname === "/readyz"
        ? new Response("{}", { status: ready ? 200 : 503 })
        : new Response("", { status: 404 }),
  );
  const args = nodeArgs.map((arg) => arg.replace(":8081/", `:${server.addr.port}/`));
  try {
    const run = () => new Deno.Command(node!, { args, stdout: "null", stderr: "null" }).output();
    assert.equal((await run()).code, 0);
    ready = false;
    assert.equal((await run()).code, 1);
  } finally {
    await server.shutdown();
  }
});
