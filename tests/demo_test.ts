/** The demo (`deno task demo`) end to end, as a child process. */
import assert from "node:assert/strict";
import { baseEnv, runDeno } from "./_child.ts";
import { startServer } from "./_server.ts";

function runDemo(args: string[], env: Record<string, string>) {
  return runDeno(["task", "demo", ...args], env);
}

/** The cells of the summary row whose first cell is `name`. */
function row(stdout: string, name: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no ${name} row in:\n${stdout}`);
  return line.trim().split(/\s+/);
}

Deno.test("deno task demo --requests 50 answers every request and prints the summary", async () => {
  const result = await runDemo(["--requests", "50"], baseEnv());
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const out = result.stdout;
  assert.match(
    out.split("\n", 1)[0]!,
    /^Demo: a Host runs two registrations \(echo, script-runner\) and a Requester sends them 50 requests, 64 in flight, through the embedded reference server at http:\/\/127\.0\.0\.1:\d+\.$/,
  );
  assert.match(out, /^Readiness transitions$/m);
  assert.match(out, /^\s+\+\d+ ms\s+host\s+ready\s/m);
  assert.match(out, /^\s+\+\d+ ms\s+requester\s+ready\s/m);
  assert.match(out, /^\s+\+\d+ ms\s+host\s+not ready\s+stopped$/m);
  assert.match(
    out,
    /^Summary: 50 requests, 64 in flight, against the embedded reference server at http:\/\/127\.0\.0\.1:\d+$/m,
  );
  assert.match(
    out,
    /^target\s+requests\s+answered\s+deliberate errors\s+timeouts\s+unexpected\s+p50 ms\s+p99 ms$/m,
  );
  assert.match(out, /^deliberate errors: script-runner fails every 20th run \(5%\) on purpose/m);
  // 25 requests each; script run 19 is the one deterministic failure.
  assert.deepEqual(row(out, "echo").slice(0, 6), ["echo", "25", "25", "0", "0", "0"]);
  assert.deepEqual(row(out, "script-runner").slice(0, 6), [
    "script-runner",
    "25",
    "24",
    "1",
    "0",
    "0",
  ]);
  assert.deepEqual(row(out, "total").slice(0, 6), ["total", "50", "49", "1", "0", "0"]);
  for (const cell of row(out, "total").slice(6)) assert.match(cell, /^\d+\.\d$/);
  assert.match(out, /^Throughput: \d+ requests\/s \(50 in \d+\.\d\d s\)$/m);
  assert.match(out, /^echo\s+stopped\s+25\s+0\s+0$/m);
  // It ends with where to go next, naming files that exist.
  const next = out.slice(out.lastIndexOf("\nNext:\n") + 1).trimEnd().split("\n");
  assert.equal(next[0], "Next:", out);
  const text = next.join("\n");
  for (const file of text.match(/examples\/\w+\.ts/g) ?? []) await Deno.stat(file);
  assert.match(text, /examples\/echo_worker\.ts/);
  assert.match(text, /host examples\/echo_worker\.ts/);
  const readme = await Deno.readTextFile("README.md");
  const sections = [...text.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(sections.length >= 2, text);
  for (const section of sections) assert.match(readme, new RegExp(`^## ${section}$`, "m"), section);
  // stderr is not a terminal here: plain progress lines instead of a bar.
  assert.match(result.stderr, /^progress: 50\/50 \(100%\)$/m);
  assert.doesNotMatch(result.stderr, /\r/);
});

Deno.test("deno task demo uses the Events API of BUS_EVENTS_API_URL when it is set", async () => {
  await using server = await startServer();
  const result = await runDemo(["--requests=20", "--in-flight=4"], {
    ...baseEnv(),
    BUS_EVENTS_API_URL: server.served.url,
    BUS_API_TOKEN: server.token,
  });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(
    result.stdout,
    new RegExp(
      `^Summary: 20 requests, 4 in flight, against the Events API at ${server.served.url}$`,
      "m",
    ),
  );
  assert.ok(!result.stdout.includes(server.token));
  assert.ok(server.api.stats.published >= 40, "requests and replies went through this server");
});

Deno.test("deno task demo exits 2 on a bad --requests value", async () => {
  const result = await runDemo(["--requests", "many"], baseEnv());
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Cannot use --requests: current value is "many"/);
});
