import assert from "node:assert/strict";
import { BodyReader } from "../src/body_reader.ts";

/** Serves `body` on loopback for one test; `await using` stops it. */
function serveBytes(body: Uint8Array) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body.slice()),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Reads everything, copying each chunk before the next read (it is only valid until then). */
async function readAll(reader: BodyReader): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  while (true) {
    const chunk = await reader.read();
    if (chunk.done) break;
    sizes.push(chunk.value.byteLength);
    parts.push(chunk.value.slice());
  }
  const bytes = new Uint8Array(sizes.reduce((sum, size) => sum + size, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return { bytes, sizes };
}

Deno.test("BodyReader.read() returns a fetch body whole, in chunks from 4 KiB growing to at most 64 KiB", async () => {
  const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251);
  await using server = serveBytes(body);
  const response = await fetch(server.url);
  const { bytes, sizes } = await readAll(new BodyReader(response.body!));
  assert.deepEqual(bytes, body);
  assert.ok(sizes[0]! <= 4096, `first chunk ${sizes[0]}`);
  assert.ok(Math.max(...sizes) <= 65536, `largest chunk ${Math.max(...sizes)}`);
  assert.ok(Math.max(...sizes) > 4096, `the buffer never grew: ${sizes}`);
});

Deno.test("BodyReader.read() hands a body that is not a byte stream its own chunks", async () => {
  const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array(100_000).fill(9)];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const reader = new BodyReader(body);
  const first = await reader.read();
  assert.equal(first.value, chunks[0]);
  const second = await reader.read();
  assert.equal(second.value, chunks[1]);
  assert.equal((await reader.read()).done, true);
  await reader.closed;
});

Deno.test("BodyReader.cancel() ends a pending read as done and cancels the body", async () => {
  let cancelled: unknown;
  const body = new ReadableStream<Uint8Array>({
    type: "bytes",
    cancel(reason) {
      cancelled = reason;
    },
  });
  const reader = new BodyReader(body);
  const pending = reader.read();
  await reader.cancel("stop");
  assert.equal((await pending).done, true);
  assert.equal(cancelled, "stop");
});

Deno.test("BodyReader.closed rejects when the body errors", async () => {
  const failure = new Error("broken");
  const body = new ReadableStream<Uint8Array>({
    type: "bytes",
    pull(controller) {
      controller.error(failure);
    },
  });
  const reader = new BodyReader(body);
  await assert.rejects(reader.read(), (error) => error === failure);
  await assert.rejects(reader.closed, (error) => error === failure);
});

Deno.test("BodyReader.read() waits on a 4 KiB buffer, doubled after each read that fills it", async () => {
  const offered: number[] = [];
  const body = new ReadableStream({
    type: "bytes",
    // Deno, like Node, sizes its fetch bodies' default reads with this: 64 KiB.
    autoAllocateChunkSize: 65536,
    pull(controller: ReadableByteStreamController) {
      const view = controller.byobRequest!.view!;
      offered.push(view.byteLength);
      // Fill the first three offers, then answer a small chunk.
      const size = offered.length <= 3 ? view.byteLength : 10;
      new Uint8Array(view.buffer, view.byteOffset, size).fill(1);
      controller.byobRequest!.respond(size);
    },
  });
  const reader = new BodyReader(body);
  for (let i = 0; i < 6; i++) await reader.read();
  assert.deepEqual(offered, [4096, 8192, 16384, 32768, 32768, 32768]);
});
