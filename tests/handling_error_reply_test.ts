import assert from "node:assert/strict";
import { type EventEnvelope, HANDLER_FAILED, type PublishOptions, ResponseError } from "../mod.ts";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { replyOnFailure } from "../src/handling/error_reply.ts";
import { EventPublisher } from "../src/publisher.ts";
import { MemoryTransport } from "./_memory_transport.ts";

function run(transport: MemoryTransport, event: EventEnvelope, handler: () => unknown) {
  const signal = new AbortController().signal;
  const context: HandlerContext = {
    publisher: new EventPublisher(transport, event, signal, "worker-1"),
    signal,
    attempt: 1,
    settlement: undefined,
  };
  return compose([replyOnFailure], handler)(event, context);
}

Deno.test("replyOnFailure() answers a failed request with handler_failed and rethrows", async () => {
  const transport = new MemoryTransport();
  const failure = new Error("disk full");
  const request = { name: "job.run.request", correlationId: "c1" };
  await assert.rejects(
    run(transport, request, () => Promise.reject(failure)),
    (e) => e === failure,
  );
  assert.equal(transport.published.length, 1);
  const answer = transport.published[0]!;
  assert.equal(answer.name, "job.run.response");
  assert.equal(answer.correlationId, "c1");
  assert.equal(answer.source, "worker-1");
  assert.deepEqual(answer.error, { code: HANDLER_FAILED, message: "disk full" });
});

Deno.test("replyOnFailure() keeps a ResponseError's own code", async () => {
  const transport = new MemoryTransport();
  const request = { name: "job.run.request", correlationId: "c2" };
  await assert.rejects(
    run(transport, request, () => {
      throw new ResponseError({ code: "not_found", message: "no such job" });
    }),
    ResponseError,
  );
  assert.deepEqual(transport.published[0]!.error, { code: "not_found", message: "no such job" });
});

Deno.test("replyOnFailure() answers nothing for an event without correlationId, or on success", async () => {
  const transport = new MemoryTransport();
  await assert.rejects(run(transport, { name: "job.tick" }, () => Promise.reject(new Error("x"))));
  await run(transport, { name: "job.run.request", correlationId: "c3" }, () => {});
  assert.equal(transport.published.length, 0);
});

Deno.test("replyOnFailure() still rethrows the handler's failure when the answer cannot be published", async () => {
  const transport = new MemoryTransport();
  const failure = new Error("handler");
  const request = { name: "job.run.request", correlationId: "c4" };
  transport.publish = () => Promise.reject(new Error("transport down"));
  await assert.rejects(
    run(transport, request, () => Promise.reject(failure)),
    (e) => e === failure,
  );
});

Deno.test("replyOnFailure() publishes its answer with discardId, since nobody reads that id", async () => {
  const transport = new MemoryTransport();
  const seen: Array<PublishOptions | undefined> = [];
  const publish = transport.publish.bind(transport);
  transport.publish = (event, options) => {
    seen.push(options);
    return publish(event, options);
  };
  const request = { name: "job.run.request", correlationId: "c5" };
  await assert.rejects(run(transport, request, () => Promise.reject(new Error("x"))));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.discardId, true);
  assert.deepEqual(transport.published[0]!.error, { code: HANDLER_FAILED, message: "x" });
});
