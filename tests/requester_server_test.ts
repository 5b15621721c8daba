/**
 * Requester against real workers from runWorker(), through the reference
 * server over loopback.
 */
import assert from "node:assert/strict";
import {
  type EventsClient,
  GatherTimeoutError,
  Requester,
  ResponseError,
  runWorker,
  type WorkerHandler,
} from "../mod.ts";
import { until } from "./_poll.ts";
import { startServer, type TestServer } from "./_server.ts";

const RETRY = { min: 20, max: 200 };

/** Runs an echo-style worker until the returned stop() is called. */
function worker(
  client: EventsClient,
  handler: WorkerHandler,
  extra: { consumer?: string; group?: string; concurrency?: number; names?: string[] } = {},
) {
  const controller = new AbortController();
  const done = runWorker({
    transport: client,
    names: extra.names ?? ["demo.echo.request"],
    delivery: "unicast",
    group: extra.group ?? "echo",
    consumer: extra.consumer ?? "echo-1",
    concurrency: extra.concurrency ?? 16,
    reconnect: RETRY,
    signal: controller.signal,
    handler,
  });
  return async () => {
    controller.abort();
    await done;
  };
}

const echo: WorkerHandler = (event, publisher) => publisher.reply({ echoed: event.payload });

function requester(server: TestServer, timeout = 10_000) {
  return new Requester({
    transport: server.client,
    responseNames: ["demo.echo.response"],
    timeout,
    reconnect: RETRY,
  });
}

// 100 in flight: each request and each reply in flight holds a connection at
// both ends in this one process (200 peaked at 846 descriptors, close to a
// 1,024 limit).
Deno.test("Requester gets 10,000 answers with 100 in flight, each with its own payload", async () => {
  await using server = await startServer({ historyLimit: 1000 });
  const stop = worker(server.client, echo);
  await using req = requester(server);
  const total = 10_000;
  let next = 0;
  let wrong = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < total) {
      const n = next++;
      const answer = await req.request("demo.echo.request", { n }) as { echoed: { n: number } };
      if (answer.echoed.n !== n) wrong++;
    }
  }));
  assert.equal(wrong, 0);
  assert.equal(req.stats.answered, total);
  assert.equal(req.stats.pending, 0);
  await stop();
});

Deno.test("Requester surfaces a worker's replyError as ResponseError", async () => {
  await using server = await startServer();
  const stop = worker(
    server.client,
    (event, publisher) => publisher.replyError("script_failed", `exit 3 for ${event.payload}`),
  );
  await using req = requester(server);
  const error = await req.request("demo.echo.request", "job-7").catch((e) => e);
  assert.ok(error instanceof ResponseError);
  assert.equal(error.code, "script_failed");
  assert.equal(error.message, "exit 3 for job-7");
  assert.equal(error.source, "echo-1");
  assert.equal(req.stats.failed, 1);
  await stop();
});

Deno.test("Requester counts a response that arrives after the timeout as late", async () => {
  await using server = await startServer();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const stop = worker(server.client, async (event, publisher) => {
    await gate;
    await publisher.reply(event.payload);
  });
  await using req = requester(server);
  await assert.rejects(req.request("demo.echo.request", 1, { timeout: 200 }), {
    name: "RequestTimeoutError",
  });
  release();
  await until(() => req.stats.late === 1, 5_000, "late response counted");
  assert.equal(req.stats.pending, 0);
  assert.equal(req.stats.unknown, 0);
  await stop();
});

Deno.test("Requesters in two processes share response names without crosstalk", async () => {
  await using server = await startServer();
  const stop = worker(server.client, echo);
  const count = 200;
  const spawn = (who: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", "--allow-env", "tests/fixtures/requester_child.ts"],
      env: {
        BUS_EVENTS_API_URL: server.served.url,
        BUS_API_TOKEN: server.token,
        WHO: who,
        COUNT: `${count}`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const outputs = await Promise.all([spawn("alpha"), spawn("beta")]);
  await stop();
  for (const output of outputs) {
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const summary = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.equal(summary.answered, count, JSON.stringify(summary));
    assert.equal(summary.mismatched, 0);
    assert.equal(summary.late, 0);
    // Each sees the other's responses on the shared broadcast name and drops them.
    assert.ok(summary.unknown <= count);
  }
});

Deno.test("Requester loses no request when the response stream is dropped mid-flight", async () => {
  await using server = await startServer();
  const stop = worker(server.client, async (event, publisher) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    await publisher.reply(event.payload);
  }, { concurrency: 4 });
  await using req = requester(server, 20_000);
  const total = 400;
  const answers = Array.from({ length: total }, (_, n) => req.request("demo.echo.request", n));
  let drops = 0;
  while (req.stats.answered < total && drops < 3) {
    await until(() => req.stats.answered > (drops + 1) * 50 || req.stats.pending === 0, 10_000);
    // Drop only the requester's broadcast stream: the worker's unicast one stays.
    drops += server.api.faults.dropStreams({ delivery: "broadcast" }) > 0 ? 1 : 0;
  }
  const results = await Promise.all(answers);
  assert.deepEqual(results, Array.from({ length: total }, (_, n) => n));
  assert.ok(drops >= 1, "the stream was dropped at least once");
  await stop();
});

Deno.test("Requester.gather() names the silent responder and rejects below minResponses", async () => {
  await using server = await startServer();
  const names = ["demo.census.request"];
  const stops = ["a", "b"].map((consumer) =>
    worker(server.client, (_e, publisher) => publisher.reply({ from: consumer }), {
      consumer,
      group: `census-${consumer}`,
      names,
    })
  );
  await until(() => server.api.stats.openStreams === 2);
  const req = new Requester({
    transport: server.client,
    responseNames: ["demo.census.response"],
    reconnect: RETRY,
  });
  try {
    const result = await req.gather("demo.census.request", {}, {
      expectedResponders: ["a", "b", "c"],
      minResponses: 2,
      timeout: 500,
    });
    assert.deepEqual(result.responses.map((r) => r.source).sort(), ["a", "b"]);
    assert.deepEqual(result.missing, ["c"]);

    const complete = await req.gather("demo.census.request", {}, {
      expectedResponders: ["a", "b"],
      timeout: 10_000,
    });
    assert.deepEqual(complete.missing, []);
    assert.equal(complete.responses.length, 2);

    const error = await req.gather("demo.census.request", {}, {
      expectedResponders: ["a", "b", "c"],
      minResponses: 3,
      timeout: 500,
    }).catch((e) => e);
    assert.ok(error instanceof GatherTimeoutError);
    assert.deepEqual(error.missing, ["c"]);
    assert.equal(error.received, 2);
    assert.match(error.message, /no answer from c/);
  } finally {
    await req.close();
    await Promise.all(stops.map((stop) => stop()));
  }
});
