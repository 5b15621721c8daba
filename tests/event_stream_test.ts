/**
 * How an open stream reads its body: on demand, in order, and with clean
 * ends on abort and close. Bodies are real `ReadableStream`s whose pulls the
 * tests count and control.
 */
import assert from "node:assert/strict";
import { AuthError, EventsClient, type InvalidInput, TransientError } from "../mod.ts";
import { OpenEventStream } from "../src/event_stream.ts";
import { scriptedFetch } from "./_scripted_fetch.ts";

const encoder = new TextEncoder();
const line = (id: number) => `${JSON.stringify({ id: String(id), name: "a.b" })}\n`;

/** A client whose every stream request is answered with `body`. */
function clientFor(body: ReadableStream<Uint8Array>): EventsClient {
  return new EventsClient({
    baseUrl: "http://bus.test",
    fetch: () =>
      Promise.resolve(new Response(body, { headers: { "content-type": "application/x-ndjson" } })),
  });
}

/** A body that produces `chunks` on demand and then hangs; counts pulls and notes a cancel. */
function onDemandBody(chunks: string[]) {
  const state = { pulls: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[state.pulls++];
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      // Past the end the pull never enqueues: the body hangs like an idle stream.
      return chunk === undefined ? new Promise(() => {}) : undefined;
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { body, state };
}

Deno.test("EventStream reads the body only as fast as envelopes are consumed", async () => {
  const chunks = Array.from({ length: 100 }, (_, i) => line(2 * i) + line(2 * i + 1));
  const { body, state } = onDemandBody(chunks);
  const stream = await clientFor(body).open({ name: "a.b" });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await stream.next()).value!.id!);
  assert.deepEqual(ids, ["0", "1", "2", "3", "4"]);
  // Three chunks held the five envelopes; the body's own queue may hold one more.
  assert.ok(state.pulls <= 4, `pulled ${state.pulls} of 100 chunks for 5 envelopes`);
  await stream.close();
  assert.equal(state.cancelled, true);
});

Deno.test("EventStream answers next() calls made together in order", async () => {
  const { body } = onDemandBody([line(1), line(2) + line(3)]);
  const stream = await clientFor(body).open({ name: "a.b" });
  const results = await Promise.all([stream.next(), stream.next(), stream.next()]);
  assert.deepEqual(results.map((r) => r.value?.id), ["1", "2", "3"]);
  await stream.close();
});

Deno.test("EventStream: an abort during a pending read rejects with the reason and reports no half line", async () => {
  const { body, state } = onDemandBody([line(1) + '{"id":"2","na']);
  const invalid: InvalidInput[] = [];
  const controller = new AbortController();
  const stream = await clientFor(body).open({
    name: "a.b",
    signal: controller.signal,
    onInvalid: (problem) => invalid.push(problem),
  });
  assert.equal((await stream.next()).value?.id, "1");
  const pending = stream.next();
  const reason = new Error("shutting down");
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  assert.deepEqual(invalid, [], "the cut-off line is not reported as invalid");
  assert.equal(state.cancelled, true);
});

Deno.test("EventStream: close() during a pending read ends the iteration", async () => {
  const { body, state } = onDemandBody([line(1)]);
  const stream = await clientFor(body).open({ name: "a.b" });
  const first = await stream.next();
  assert.equal(first.value?.id, "1");
  await stream.settle(first.value!, { type: "done" });
  const pending = stream.next();
  await stream.close();
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.equal(state.cancelled, true);
  assert.equal(stream.lastEventId, "1", "the resume point is the last envelope settled");
});

Deno.test("EventsClient rejects a maxLineBytes that is not a positive integer", () => {
  for (const maxLineBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new EventsClient({ baseUrl: "http://bus.test", maxLineBytes }),
      (error) => error instanceof RangeError && /maxLineBytes/.test(error.message),
      String(maxLineBytes),
    );
  }
});

Deno.test("EventsClient.stream() sends its request on the first next(), not before", async () => {
  const script = scriptedFetch([{ events: [{ name: "a.b", id: "1" }], end: "eof" }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const stream = client.stream({ name: "a.b" });
  assert.equal(script.requests.length, 0);
  assert.equal((await stream.next()).value?.id, "1");
  assert.equal(script.requests.length, 1);
  assert.deepEqual(await stream.next(), { done: true, value: undefined });

  const unused = client.stream({ name: "a.b" });
  await unused.return!();
  assert.deepEqual(await unused.next(), { done: true, value: undefined });
  assert.equal(script.requests.length, 1, "a stream returned before reading never opens");
});

Deno.test("EventsClient.stream(): a refused open rejects the first next(), then the iterator is done", async () => {
  const script = scriptedFetch([{ status: 401 }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const stream = client.stream({ name: "a.b" });
  await assert.rejects(stream.next(), AuthError);
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
  assert.equal(script.requests.length, 1);
});

Deno.test("EventsClient.stream(): return() while the request is opening closes the stream once open", async () => {
  const script = scriptedFetch([{ events: [{ name: "a.b", id: "1" }], end: "hang" }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const stream = client.stream({ name: "a.b" });
  const first = stream.next();
  await stream.return!();
  assert.deepEqual(await first, { done: true, value: undefined });
  assert.equal(script.open, 0, "the hanging body was cancelled");
});

Deno.test("EventStream keeps the resume point while NDJSON envelopes carry no id", async () => {
  const { body } = onDemandBody([
    '{"name":"a.b"}\n',
    '{"name":"a.b","id":"10"}\n{"name":"a.b"}\n',
  ]);
  const stream = await clientFor(body).open({ name: "a.b", lastEventId: "9" });
  const seen: Array<string | undefined> = [];
  for (let i = 0; i < 3; i++) {
    const { value } = await stream.next();
    await stream.settle(value!, { type: "done" });
    seen.push(stream.lastEventId);
  }
  assert.deepEqual(seen, ["9", "10", "10"]);
  await stream.close();
});

Deno.test("EventStream.settle() moves the resume point only over a settled prefix", async () => {
  const { body } = onDemandBody([line(1) + line(2) + line(3) + line(4)]);
  const stream = await clientFor(body).open({ name: "a.b", lastEventId: "0" });
  const events = [];
  for (let i = 0; i < 4; i++) events.push((await stream.next()).value!);
  assert.equal(stream.lastEventId, "0", "handing out moves nothing");
  await stream.settle(events[1]!, { type: "done" });
  await stream.settle(events[2]!, { type: "dead", reason: "bad" });
  assert.equal(stream.lastEventId, "0", "2 and 3 are settled, but 1 is still in a handler");
  await stream.settle(events[0]!, { type: "retry", delay: 10 });
  assert.equal(stream.lastEventId, "3", "every settlement kind counts over HTTP");
  await stream.settle(events[0]!, { type: "done" });
  assert.equal(stream.lastEventId, "3", "a second settlement is ignored");
  await stream.settle(events[3]!, { type: "done" });
  assert.equal(stream.lastEventId, "4");
  await stream.working(events[3]!);
  await stream.close();
});

Deno.test("EventStream.reconnectHint is the last valid SSE retry field decoded", async () => {
  const open = async (body: string) => {
    const client = new EventsClient({
      baseUrl: "http://bus.test",
      fetch: () =>
        Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } })),
    });
    const stream = await client.open({ name: "a.b" });
    assert.equal(stream.reconnectHint, undefined, "nothing read yet");
    await stream.next();
    const hint = stream.reconnectHint;
    await stream.close();
    return hint;
  };
  assert.equal(await open('retry: 250\n\ndata: {"name":"a.b"}\n\n'), 250);
  assert.equal(await open('retry: 250\nretry: 1500\ndata: {"name":"a.b"}\n\n'), 1500);
  assert.equal(await open('retry: 250\nretry: 1.5\ndata: {"name":"a.b"}\n\n'), 250);
});

Deno.test("OpenEventStream with settleOnTake keeps nothing it handed out (EventsClient.stream())", async () => {
  const { body } = onDemandBody([line(1) + line(2), line(3)]);
  const stream = new OpenEventStream({
    body,
    status: 200,
    framing: "ndjson",
    maxLineBytes: 1024,
    controller: new AbortController(),
    initialEventId: undefined,
    settleOnTake: true,
    onClose: () => {},
  });
  const seen: Array<string | undefined> = [];
  for (let i = 0; i < 3; i++) {
    await stream.next();
    seen.push(stream.lastEventId);
  }
  assert.deepEqual(seen, ["1", "2", "3"], "the resume point follows what was handed out");
  await stream.close();
});

/** A client whose stream requests are answered with `body` as SSE. */
function sseClientFor(body: string, maxLineBytes = 1024): EventsClient {
  return new EventsClient({
    baseUrl: "http://bus.test",
    maxLineBytes,
    fetch: () =>
      Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } })),
  });
}

Deno.test("EventStream.lastEventId moves past a dropped SSE event once everything before it is settled", async () => {
  const big = `data: {"name":"a.b","payload":"${"x".repeat(100)}"}`;
  const body = `id: 1\ndata: {"name":"a.b"}\n\n${big}\nid: 2\n\n`;
  const invalid: InvalidInput[] = [];
  const stream = await sseClientFor(body, 64).open({
    name: "a.b",
    onInvalid: (input) => invalid.push(input),
  });
  const first = await stream.next();
  assert.equal(first.value?.id, undefined);
  assert.equal(stream.lastEventId, undefined, "nothing settled yet");
  const end = stream.next();
  await stream.settle(first.value!, { type: "done" });
  assert.deepEqual(await end, { done: true, value: undefined });
  assert.equal(stream.lastEventId, "2", "the poison event's own id, after its data");
  assert.deepEqual(invalid.map((i) => i.kind), ["too-large"]);
});

Deno.test("EventStream.lastEventId stays before envelopes decoded but never handed out", async () => {
  const { body } = onDemandBody([line(1) + line(2) + line(3)]);
  const stream = await clientFor(body).open({ name: "a.b" });
  const first = (await stream.next()).value!;
  await stream.settle(first, { type: "done" });
  await stream.close();
  assert.equal(stream.lastEventId, "1", "2 and 3 were decoded, not delivered");
});

Deno.test("EventStream keeps the opened-with ID for SSE events without an id", async () => {
  const stream = await sseClientFor('data: {"name":"a.b"}\n\nid: 8\ndata: {"name":"a.b"}\n\n')
    .open({ name: "a.b", lastEventId: "7" });
  const seen: Array<string | undefined> = [];
  for await (const event of stream) {
    await stream.settle(event, { type: "done" });
    seen.push(stream.lastEventId);
  }
  assert.deepEqual(seen, ["7", "8"]);
});

Deno.test("EventStream.nextBatch() hands out every envelope of a chunk at once, in order with next()", async () => {
  const { body, state } = onDemandBody([line(1) + line(2) + line(3), line(4), line(5) + line(6)]);
  const stream = await clientFor(body).open({ name: "a.b" });
  const first = (await stream.next()).value!;
  assert.equal(first.id, "1");
  const second = await stream.nextBatch();
  assert.deepEqual(second?.map((e) => e.id), ["2", "3"], "the rest of the first chunk");
  // One chunk read; the body's own queue may hold one more.
  assert.ok(state.pulls <= 2, `pulled ${state.pulls} chunks`);
  const [third, fifth, sixth] = await Promise.all([
    stream.nextBatch(),
    stream.next(),
    stream.nextBatch(),
  ]);
  assert.deepEqual(third?.map((e) => e.id), ["4"]);
  assert.equal(fifth.value?.id, "5");
  assert.deepEqual(sixth?.map((e) => e.id), ["6"]);
  assert.equal(stream.lastEventId, undefined, "handed out, not settled");
  const all = [first, ...second!, ...third!, fifth.value!, ...sixth!];
  for (const event of all.slice(0, 5)) await stream.settle(event, { type: "done" });
  assert.equal(stream.lastEventId, "5");
  await stream.settle(all[5]!, { type: "done" });
  assert.equal(stream.lastEventId, "6");
  await stream.close();
  assert.equal(await stream.nextBatch(), undefined, "done once closed");
});

Deno.test("EventStream.nextBatch() resolves undefined at the end and rejects when the body breaks", async () => {
  const script = scriptedFetch([
    { events: [{ name: "a.b", id: "1" }], end: "eof" },
    { events: [{ name: "a.b", id: "2" }], end: "cut" },
  ]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const ended = await client.open({ name: "a.b" });
  assert.deepEqual((await ended.nextBatch())?.map((e) => e.id), ["1"]);
  assert.equal(await ended.nextBatch(), undefined);
  const broken = await client.open({ name: "a.b" });
  assert.deepEqual((await broken.nextBatch())?.map((e) => e.id), ["2"]);
  await assert.rejects(broken.nextBatch(), TransientError);
  assert.equal(script.open, 0);
});
