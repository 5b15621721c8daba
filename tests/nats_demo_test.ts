/** `deno task demo --transport nats` end to end, as a child process. */
import assert from "node:assert/strict";
import { baseEnv, runDeno } from "./_child.ts";
import { natsTest } from "./_nats_server.ts";

natsTest(
  "deno task demo --transport nats answers every request on a nats-server it starts",
  async () => {
    const result = await runDeno(
      ["task", "demo", "--transport", "nats", "--requests", "60"],
      baseEnv(),
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(
      result.stdout,
      /^Summary: 60 requests, 64 in flight, against NATS JetStream at nats:\/\/127\.0\.0\.1:\d+ \(nats-server [\d.]+\)$/m,
    );
    // 30 runs of the script runner: run 19 is its one deliberate failure.
    assert.match(result.stdout, /^total\s+60\s+59\s+1\s+0\s+0\s/m);
  },
);

Deno.test("deno task demo --transport nats says in one line that nats-server is missing", async () => {
  const result = await runDeno(
    ["task", "demo", "--transport", "nats"],
    { ...baseEnv(), PATH: Deno.execPath().replace(/\/[^/]+$/, "") },
  );
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr.trim().split("\n").at(-1),
    "demo: Cannot run the demo on NATS: nats-server is not on PATH (apt-get install nats-server, or set NATS_URL)",
  );
});

Deno.test("deno task demo rejects an unknown --transport with exit 2", async () => {
  const result = await runDeno(["task", "demo", "--transport", "kafka"], baseEnv());
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /Cannot use --transport: current value is "kafka", expected http or nats/,
  );
});
