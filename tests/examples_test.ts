/**
 * The README's examples, run as written: the request/reply script, and the
 * standalone worker surviving a server restart and stopping on SIGTERM.
 */
import assert from "node:assert/strict";
import { EventsClient, Requester } from "../mod.ts";
import { createEventsApi } from "../testing.ts";
import { until } from "./_poll.ts";

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
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = collect(child.stderr);
  const client = new EventsClient({ baseUrl: served.url, token });
  const requester = new Requester({
    transport: client,
    responseNames: ["example.greet.response"],
    reconnect: { min: 50, max: 200 },
    timeout: 10_000,
  });
  try {
    await until(() => log.text.includes("readiness: ready"), 10_000, "worker ready");
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
