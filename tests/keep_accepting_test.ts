/**
 * An HTTP server whose accept loop died (Deno's, out of file descriptors)
 * listens again: for real in a Deno child under `prlimit --nofile`, where
 * the reference server runs out of descriptors, survives it, accepts
 * connections again and keeps serving the stream it had; and, with fake
 * time, the waits between the tries to listen again (`keepAccepting()`).
 */
import assert from "node:assert/strict";
import { keepAccepting, RELISTEN_BACKOFF } from "../src/keep_accepting.ts";
import { captureLogs } from "./_log_capture.ts";
import { limitedDenoArgs, prlimit } from "./_executables.ts";
import { type FakeTime, fakeTime, settle } from "./_fake_time.ts";

const CHILD = new URL("./fixtures/emfile_server.ts", import.meta.url).pathname;

Deno.test({
  name:
    "the reference server on Deno survives running out of file descriptors, listens again and keeps its open streams",
  ignore: prlimit === undefined,
  fn: async () => {
    const output = await new Deno.Command(prlimit!, {
      args: limitedDenoArgs(96, CHILD),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    // Before: "error: Uncaught (in promise) Http: Error: Too many open files", exit 1.
    assert.equal(output.code, 0, stderr);
    const result = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
    // The flood ends at a failed connect: refused or reset once the loop died, or the
    // client out of descriptors itself; the server's own failure is in its log below.
    assert.equal(typeof result.refused, "string", "a connect failed");
    assert.ok(result.opened > 10, `${result.opened} connections before the shortage`);
    assert.equal(result.accepting, true, "a publish went through once descriptors were free");
    assert.equal(result.delivered, "after", "the stream opened before still delivers");
    const messages = result.logs.map((log: { level: string; message: string }) =>
      `${log.level} ${log.message}`
    );
    assert.equal(
      messages[0],
      "error Stopped accepting connections on {url}: {error}; listening again in {delay} ms",
    );
    assert.match(result.logs[0].error, /Too many open files/);
    assert.equal(messages.at(-1), "info Accepting connections on {url} again");
  },
});

/** A server of the fake-time tests: its accept loop ends when the test says. */
class FakeServer {
  readonly #end = Promise.withResolvers<void>();
  constructor(readonly name: string) {
    // A server nobody watches (one handed over at close) must not fail the test run.
    this.#end.promise.catch(() => {});
  }
  get ended(): Promise<void> {
    return this.#end.promise;
  }
  die(error: unknown = new Error("Too many open files (os error 24)")): void {
    this.#end.reject(error);
  }
  shutDown(): void {
    this.#end.resolve();
  }
}

/**
 * Runs `keepAccepting()` over `first` with fake servers: each try to listen
 * fails while `failures` lasts, then succeeds; records when each try came
 * (fake ms since `time` started) and the servers it handed over.
 */
function watchFake(
  time: FakeTime,
  first: FakeServer,
  options: { failures?: number; signal?: AbortSignal } = {},
) {
  const tries: number[] = [];
  const adopted: FakeServer[] = [];
  let failures = options.failures ?? 0;
  keepAccepting({
    url: "http://127.0.0.1:8080",
    first,
    endOf: (server) => server.ended,
    listen: () => {
      tries.push(time.elapsed);
      if (failures-- > 0) return Promise.reject(new Error("Too many open files (os error 24)"));
      return Promise.resolve(new FakeServer(`again ${tries.length}`));
    },
    adopt: (server) => void adopted.push(server),
    signal: options.signal ?? new AbortController().signal,
    random: () => 0.5,
  });
  return { tries, adopted };
}

Deno.test("keepAccepting() listens again after each wait of its backoff until a try succeeds", async () => {
  using time = fakeTime();
  await using logs = await captureLogs("info", ["bus-integration", "http"]);
  const first = new FakeServer("first");
  const { tries, adopted } = watchFake(time, first, { failures: 2 });
  await settle(time.clock);
  assert.deepEqual(tries, [], "nothing while the loop runs");
  first.die();
  await time.clock.tickAsync(99);
  assert.deepEqual(tries, []);
  // Waits of [min, min·2ⁿ] drawn at the middle: 100, 150, 250.
  await time.clock.tickAsync(1);
  assert.deepEqual(tries, [100]);
  await time.clock.tickAsync(150 + 250);
  assert.deepEqual(tries, [100, 250, 500]);
  assert.deepEqual(adopted.map((server) => server.name), ["again 3"]);
  assert.deepEqual(logs.map((record) => [record.level, record.properties.delay]), [
    ["error", 100],
    ["warning", 150],
    ["warning", 250],
    ["info", undefined],
  ]);
  assert.equal(logs[0]!.properties.url, "http://127.0.0.1:8080");
  assert.match(String(logs[0]!.properties.error), /Too many open files/);
  await time.clock.tickAsync(60_000);
  assert.equal(tries.length, 3, "no try while the new server accepts");
});

Deno.test("keepAccepting() goes on with its schedule when the new server dies soon, and starts over after one stayed up", async () => {
  using time = fakeTime();
  await using _logs = await captureLogs("info", ["bus-integration", "http"]);
  const first = new FakeServer("first");
  const { tries, adopted } = watchFake(time, first);
  first.die();
  await time.clock.tickAsync(100);
  assert.deepEqual(tries, [100]);
  // Down again after 3 s: the next wait is the schedule's next, 150.
  await time.clock.tickAsync(3_000);
  adopted[0]!.die();
  await time.clock.tickAsync(150);
  assert.deepEqual(tries, [100, 3_250]);
  // Up for the healthy time, then down: the schedule starts over at [min, 2·min], 150.
  await time.clock.tickAsync(RELISTEN_BACKOFF.healthyAfter);
  adopted[1]!.die();
  await time.clock.tickAsync(149);
  assert.equal(tries.length, 2);
  await time.clock.tickAsync(1);
  assert.deepEqual(tries, [100, 3_250, 13_400]);
});

Deno.test("keepAccepting() tries nothing once closed: not after a shut-down loop, a close during a wait, or a death after close", async () => {
  using time = fakeTime();
  await using logs = await captureLogs("info", ["bus-integration", "http"]);
  // A loop shut down (resolved) is no failure.
  const shut = new FakeServer("shut");
  const shutDown = watchFake(time, shut);
  shut.shutDown();
  // Closed during the wait.
  const waiting = new FakeServer("waiting");
  const closeWaiting = new AbortController();
  const closedWaiting = watchFake(time, waiting, { signal: closeWaiting.signal });
  waiting.die();
  await time.clock.tickAsync(50);
  closeWaiting.abort();
  // Dying after close (the close itself ends the loop on some runtimes).
  const late = new FakeServer("late");
  const closeLate = new AbortController();
  const closedLate = watchFake(time, late, { signal: closeLate.signal });
  closeLate.abort();
  late.die();
  await time.clock.tickAsync(60_000);
  for (const { tries } of [shutDown, closedWaiting, closedLate]) assert.deepEqual(tries, []);
  assert.deepEqual(logs.map((record) => record.level), ["error"], "only the death before close");
});

Deno.test("keepAccepting() hands over a server that started listening as it was closed", async () => {
  using time = fakeTime();
  await using _logs = await captureLogs("info", ["bus-integration", "http"]);
  const close = new AbortController();
  const { resolve, promise } = Promise.withResolvers<FakeServer>();
  const first = new FakeServer("first");
  const adopted: FakeServer[] = [];
  let listens = 0;
  keepAccepting({
    url: "http://127.0.0.1:8080",
    first,
    endOf: (server) => server.ended,
    listen: () => {
      listens++;
      return promise;
    },
    adopt: (server) => void adopted.push(server),
    signal: close.signal,
  });
  first.die();
  await time.clock.tickAsync(RELISTEN_BACKOFF.max);
  assert.equal(listens, 1);
  close.abort();
  const late = new FakeServer("late");
  resolve(late);
  await settle(time.clock);
  assert.deepEqual(adopted, [late], "for its caller to close");
  late.die(); // Not watched: closing it ends its loop, which is no failure.
  await time.clock.tickAsync(60_000);
  assert.equal(listens, 1);
});
