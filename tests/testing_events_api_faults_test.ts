import assert from "node:assert/strict";
import { createEventsApi } from "../testing.ts";
import { LineReader } from "./_ndjson_lines.ts";
import { until } from "./_poll.ts";

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function publish(url: string, token: string, payload: unknown): Promise<Response> {
  return await fetch(`${url}/api/v1/events`, {
    method: "POST",
    headers: auth(token),
    body: JSON.stringify({ name: "a.b", payload }),
  });
}

async function openStream(
  url: string,
  token: string,
  query = "name=a.b",
  headers: Record<string, string> = {},
): Promise<LineReader> {
  const response = await fetch(`${url}/api/v1/events/stream?${query}`, {
    headers: { ...auth(token), ...headers },
  });
  assert.equal(response.status, 200);
  return new LineReader(response.body);
}

Deno.test("faults.failNext() answers the next requests with a status and Retry-After", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    api.faults.failNext("publish", { status: 429, retryAfter: 2 });
    api.faults.failNext("stream", { status: 503, count: 2, retryAfter: 1 });

    const limited = await publish(served.url, token, 1);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "2");
    assert.deepEqual((await limited.json()).error.type, "rate_limited");
    const accepted = await publish(served.url, token, 2);
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();

    for (let n = 0; n < 2; n++) {
      const response = await fetch(`${served.url}/api/v1/events/stream?name=a.b`, {
        headers: auth(token),
      });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("retry-after"), "1");
      assert.equal((await response.json()).error.type, "unavailable");
    }
    const reader = await openStream(served.url, token);
    await reader.cancel();

    api.faults.failNext("publish", { status: 502, body: "<html>bad gateway</html>" });
    const html = await publish(served.url, token, 3);
    assert.equal(html.status, 502);
    assert.equal(await html.text(), "<html>bad gateway</html>");
    api.faults.failNext("publish", { status: 500, body: { custom: true } });
    const custom = await publish(served.url, token, 4);
    assert.deepEqual(await custom.json(), { custom: true });
    assert.equal(api.stats.published, 1);
    assert.throws(() => api.faults.failNext("publish", { status: 42 }), RangeError);
    assert.throws(() => api.faults.failNext("stream", { status: 500, count: 0 }), RangeError);
  } finally {
    await api.close();
  }
});

Deno.test("faults.dropStreams() ends every open stream mid-stream", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const readers = [
      await openStream(served.url, token),
      await openStream(served.url, token, "name=a.b&delivery=unicast"),
    ];
    const published = await publish(served.url, token, 1);
    await published.body?.cancel();
    for (const reader of readers) assert.equal((await reader.take(1))[0]?.payload, 1);
    assert.equal(api.faults.dropStreams(), 2);
    for (const reader of readers) assert.deepEqual(await reader.rest(), []);
    assert.equal(api.stats.openStreams, 0);
    assert.equal(api.faults.dropStreams(), 0);
  } finally {
    await api.close();
  }
});

Deno.test("faults.dropStreams() and sendMalformed() act only on streams matching a filter", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const responses = await openStream(served.url, token, "name=x.response");
    const workers = await openStream(
      served.url,
      token,
      "name=x.request&delivery=unicast&group=w&consumer=w1",
    );
    try {
      assert.equal(await responses.next(), "");
      assert.equal(await workers.next(), "");
      assert.equal(api.faults.sendMalformed("{bad", { consumer: "w1" }), 1);
      assert.equal(await workers.next(), "{bad");
      assert.equal(api.faults.dropStreams({ group: "nope" }), 0);
      assert.equal(api.faults.dropStreams({ delivery: "broadcast" }), 1);
      assert.deepEqual(await responses.rest(), []);
      assert.equal(api.stats.openStreams, 1);
      assert.equal(api.faults.dropStreams({ name: "x.request", group: "w" }), 1);
      assert.deepEqual(await workers.rest(), []);
    } finally {
      await responses.cancel();
      await workers.cancel();
    }
  } finally {
    await api.close();
  }
});

Deno.test("faults.sendMalformed() writes a bad line into every NDJSON stream", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const reader = await openStream(served.url, token);
    try {
      assert.equal(await reader.next(), "");
      assert.equal(api.faults.sendMalformed(), 1);
      assert.equal(await reader.next(), "{not json");
      assert.equal(api.faults.sendMalformed('{"name": 1'), 1);
      assert.equal(await reader.next(), '{"name": 1');
      const published = await publish(served.url, token, "after");
      await published.body?.cancel();
      assert.equal((await reader.take(1))[0]?.payload, "after");
      assert.equal(api.stats.delivered(), 1, "malformed lines are not deliveries");
    } finally {
      await reader.cancel();
    }
  } finally {
    await api.close();
  }
});

Deno.test("faults.stallStreams() holds events and keepalives until resumeStreams()", async () => {
  const api = createEventsApi({ heartbeatMs: 20 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const broadcast = await openStream(served.url, token);
    const unicast = await openStream(served.url, token, "name=a.b&delivery=unicast");
    try {
      assert.equal(await broadcast.next(), "");
      assert.equal(await unicast.next(), "");
      api.faults.stallStreams();
      for (let n = 0; n < 3; n++) {
        const response = await publish(served.url, token, n);
        await response.body?.cancel();
      }
      // Streams opened during a stall stay silent too.
      const late = await fetch(`${served.url}/api/v1/events/stream?name=a.b&replay=true`, {
        headers: auth(token),
      });
      const lateReader = new LineReader(late.body);
      try {
        await assert.rejects(broadcast.next(200), /Timed out/);
        await assert.rejects(unicast.next(100), /Timed out/);
        await assert.rejects(lateReader.next(100), /Timed out/);
        assert.equal(api.stats.delivered(), 0);
        api.faults.resumeStreams();
        const payloads = async (reader: LineReader) =>
          (await reader.take(3)).map((event) => event.payload);
        assert.deepEqual(await payloads(broadcast), [0, 1, 2]);
        assert.deepEqual(await payloads(unicast), [0, 1, 2]);
        assert.deepEqual(await payloads(lateReader), [0, 1, 2]);
        assert.equal(await broadcast.next(1_000), "", "keepalives resume");
      } finally {
        await lateReader.cancel();
      }
    } finally {
      await broadcast.cancel();
      await unicast.cancel();
    }
  } finally {
    await api.close();
  }
});

Deno.test("stats counts publishes, open streams and deliveries by name, group and consumer", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const listener = await openStream(served.url, token, "name=a.b&consumer=watcher");
    const worker = await openStream(
      served.url,
      token,
      "name=a.b&delivery=unicast&group=workers&consumer=w1",
    );
    try {
      assert.equal(api.stats.openStreams, 2);
      for (let n = 0; n < 4; n++) {
        const response = await publish(served.url, token, n);
        await response.body?.cancel();
      }
      await listener.take(4);
      await worker.take(4);
      assert.equal(api.stats.published, 4);
      assert.equal(api.stats.delivered(), 8);
      assert.equal(api.stats.delivered({ name: "a.b" }), 8);
      assert.equal(api.stats.delivered({ group: "workers" }), 4);
      assert.equal(api.stats.delivered({ group: "workers", consumer: "w1" }), 4);
      assert.equal(api.stats.delivered({ consumer: "watcher" }), 4);
      assert.equal(api.stats.delivered({ name: "c.d" }), 0);
    } finally {
      await listener.cancel();
      await worker.cancel();
    }
    await until(() => api.stats.openStreams === 0, 5_000, "streams to close");
  } finally {
    await api.close();
  }
});

Deno.test("ServedEventsApi.close() ends open streams and a restart on the same port keeps state", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const first = await api.serve();
  let second: Awaited<ReturnType<typeof api.serve>> | undefined;
  try {
    const token = await api.mintToken();
    const reader = await openStream(first.url, token, "name=a.b&delivery=unicast&group=g");
    try {
      const response = await publish(first.url, token, 1);
      const { id } = await response.json();
      assert.equal((await reader.take(1))[0]?.id, id);
      await first.close();
      assert.deepEqual(await reader.rest(), [], "the client sees the stream end");
      assert.equal(api.stats.openStreams, 0);
    } finally {
      await reader.cancel();
    }
    // Published while nobody listens: waits in group g's backlog.
    const offline = await api.fetch(
      new Request("http://x/api/v1/events", {
        method: "POST",
        headers: auth(token),
        body: JSON.stringify({ name: "a.b", payload: 2 }),
      }),
    );
    assert.equal(offline.status, 202);
    await offline.body?.cancel();

    second = await api.serve({ port: first.port });
    assert.equal(second.port, first.port);
    assert.equal(second.url, first.url);
    const resumed = await openStream(second.url, token, "name=a.b&delivery=unicast&group=g");
    try {
      assert.equal((await resumed.take(1))[0]?.payload, 2);
    } finally {
      await resumed.cancel();
    }
    const history = await openStream(second.url, token, "name=a.b&replay=true&follow=false");
    assert.deepEqual((await history.rest()).map((line) => JSON.parse(line).payload), [1, 2]);
  } finally {
    await second?.close();
    await api.close();
  }
});

Deno.test("EventsApi.close() ends streams of every listener and in-process streams", async () => {
  const api = createEventsApi({ heartbeatMs: 10 });
  const a = await api.serve();
  const b = await api.serve();
  const token = await api.mintToken();
  const readers = [await openStream(a.url, token), await openStream(b.url, token)];
  const inProcess = await api.fetch(
    new Request("http://x/api/v1/events/stream?name=a.b", { headers: auth(token) }),
  );
  const inProcessReader = new LineReader(inProcess.body);
  try {
    assert.equal(api.stats.openStreams, 3);
    await api.close();
    assert.equal(api.stats.openStreams, 0);
    for (const reader of [...readers, inProcessReader]) {
      assert.ok((await reader.rest()).every((line) => line === ""));
    }
    await assert.rejects(fetch(`${a.url}/api/v1/events/stream?name=a.b`));
  } finally {
    for (const reader of [...readers, inProcessReader]) await reader.cancel();
    await api.close();
  }
});

Deno.test("createEventsApi() rejects bad options with RangeError", () => {
  assert.throws(() => createEventsApi({ historyLimit: 0 }), RangeError);
  assert.throws(() => createEventsApi({ groupBacklogLimit: 0 }), /groupBacklogLimit 0/);
  assert.throws(() => createEventsApi({ heartbeatMs: -1 }), RangeError);
});
