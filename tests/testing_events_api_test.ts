import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createEventsApi, type EventsApi, type ServedEventsApi } from "../testing.ts";
import { LineReader } from "./_ndjson_lines.ts";
import { until } from "./_poll.ts";

const SECRET = "reference-server-test-secret";

/** Runs `fn` against a served instance and closes everything afterwards. */
async function withServer(
  fn: (api: EventsApi, served: ServedEventsApi, token: string) => Promise<void>,
  options: Parameters<typeof createEventsApi>[0] = {},
): Promise<void> {
  const api = createEventsApi({ heartbeatMs: 0, ...options });
  const served = await api.serve();
  try {
    await fn(api, served, await api.mintToken());
  } finally {
    await api.close();
  }
}

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function publish(
  url: string,
  token: string,
  event: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/api/v1/events`, {
    method: "POST",
    headers: { ...auth(token), "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  return { status: response.status, body: await response.json() };
}

async function openStream(
  url: string,
  token: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<LineReader> {
  const response = await fetch(`${url}/api/v1/events/stream?${query}`, {
    headers: { ...auth(token), ...headers },
  });
  if (response.status !== 200) {
    const text = await response.text();
    throw new Error(`stream answered ${response.status}: ${text}`);
  }
  return new LineReader(response.body);
}

async function errorOf(response: Response): Promise<{ type: string; message: string }> {
  assert.equal(response.headers.get("content-type"), "application/json");
  const body = await response.json();
  assert.equal(typeof body.error?.message, "string");
  return body.error;
}

Deno.test("createEventsApi() publish answers 202 and stamps the envelope", async () => {
  const api = createEventsApi({ heartbeatMs: 0, auth: { secret: SECRET } });
  try {
    const token = await api.mintToken({ sub: "alice" });
    const response = await api.fetch(
      new Request("http://in-process/api/v1/events", {
        method: "POST",
        headers: auth(token),
        body: JSON.stringify({
          name: "example.ping",
          identity_id: "mallory",
          payload: { n: 1 },
          futureField: { kept: true },
        }),
      }),
    );
    assert.equal(response.status, 202);
    const body = await response.json();
    assert.equal(body.accepted, true);
    assert.equal(body.name, "example.ping");
    assert.match(body.id, /^\d{16}$/);

    const replay = await api.fetch(
      new Request(
        "http://in-process/api/v1/events/stream?name=example.ping&replay=true&follow=false",
        {
          headers: auth(token),
        },
      ),
    );
    const [event] = await new LineReader(replay.body).take(1);
    assert.ok(event);
    assert.equal(event.id, body.id);
    assert.equal(event.identity_id, "alice");
    assert.equal(event.version, "v1");
    assert.ok(typeof event.timestamp === "string" && !Number.isNaN(Date.parse(event.timestamp)));
    assert.deepEqual(event.payload, { n: 1 });
    assert.deepEqual(event.futureField, { kept: true });
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() publish keeps a given version and timestamp", async () => {
  const api = createEventsApi({ auth: false, heartbeatMs: 0 });
  try {
    const post = await api.fetch(
      new Request("http://x/api/v1/events", {
        method: "POST",
        body: JSON.stringify({ name: "a.b", version: "v2", timestamp: "2024-01-02T03:04:05Z" }),
      }),
    );
    assert.equal(post.status, 202);
    await post.body?.cancel();
    const stream = await api.fetch(
      new Request("http://x/api/v1/events/stream?name=a.b&replay=true&follow=false"),
    );
    const [event] = await new LineReader(stream.body).take(1);
    assert.equal(event?.version, "v2");
    assert.equal(event?.timestamp, "2024-01-02T03:04:05Z");
    assert.equal(event?.identity_id, "anonymous");
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() publish ids increase monotonically", async () => {
  const api = createEventsApi({ auth: false, heartbeatMs: 0 });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await api.fetch(
        new Request("http://x/api/v1/events", {
          method: "POST",
          body: JSON.stringify({ name: i % 2 ? "a.b" : "c.d" }),
        }),
      );
      ids.push((await response.json()).id);
    }
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() publish rejects bad input with 400/413", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const token = await api.mintToken();
  const post = (body: string) =>
    api.fetch(
      new Request("http://x/api/v1/events", { method: "POST", headers: auth(token), body }),
    );
  try {
    for (
      const body of [
        "{not json",
        "[1,2]",
        "42",
        JSON.stringify({ payload: 1 }),
        JSON.stringify({ name: "Bad Name" }),
        JSON.stringify({ name: "bus.*" }),
        JSON.stringify({ name: "bus.>" }),
        JSON.stringify({ name: "" }),
      ]
    ) {
      const response = await post(body);
      assert.equal(response.status, 400, body);
      assert.equal((await errorOf(response)).type, "bad_request");
    }
    const huge = await post(JSON.stringify({ name: "a.b", payload: "x".repeat(1024 * 1024) }));
    assert.equal(huge.status, 413);
    assert.equal((await errorOf(huge)).type, "payload_too_large");
    assert.equal(api.stats.published, 0);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() unknown routes answer 404 and wrong methods 405", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  try {
    const missing = await api.fetch(new Request("http://x/api/v1/nothing"));
    assert.equal(missing.status, 404);
    assert.equal((await errorOf(missing)).type, "not_found");
    const getEvents = await api.fetch(new Request("http://x/api/v1/events"));
    assert.equal(getEvents.status, 405);
    assert.equal(getEvents.headers.get("allow"), "POST");
    assert.equal((await errorOf(getEvents)).type, "method_not_allowed");
    const postStream = await api.fetch(
      new Request("http://x/api/v1/events/stream?name=a", { method: "POST", body: "{}" }),
    );
    assert.equal(postStream.status, 405);
    assert.equal((await errorOf(postStream)).type, "method_not_allowed");
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() answers 401 for missing, invalid, expired or foreign tokens", async () => {
  const api = createEventsApi({ heartbeatMs: 0, auth: { secret: SECRET } });
  const key = new TextEncoder().encode(SECRET);
  const now = Math.floor(Date.now() / 1000);
  const wrongAudience = await new SignJWT({ scope: "events:send events:listen" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bob")
    .setAudience("someone.else/api")
    .setExpirationTime(now + 60)
    .sign(key);
  const otherSecret = await createEventsApi({ heartbeatMs: 0 }).mintToken();
  const expired = await api.mintToken({ ttlSeconds: -10 });
  const cases: [string, Record<string, string>][] = [
    ["missing", {}],
    ["not bearer", { authorization: "Basic dXNlcjpwYXNz" }],
    ["garbage", auth("not.a.jwt")],
    ["expired", auth(expired)],
    ["wrong audience", auth(wrongAudience)],
    ["other secret", auth(otherSecret)],
  ];
  try {
    for (const [label, headers] of cases) {
      for (
        const request of [
          new Request("http://x/api/v1/events", {
            method: "POST",
            headers,
            body: JSON.stringify({ name: "a.b" }),
          }),
          new Request("http://x/api/v1/events/stream?name=a.b", { headers }),
        ]
      ) {
        const response = await api.fetch(request);
        assert.equal(response.status, 401, label);
        assert.ok(response.headers.get("www-authenticate")?.startsWith("Bearer"));
        const error = await errorOf(response);
        assert.equal(error.type, "invalid_auth", label);
        for (const token of [expired, wrongAudience, otherSecret]) {
          assert.ok(!error.message.includes(token), "the token is never echoed");
        }
      }
    }
    assert.equal(api.stats.published, 0);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() answers 403 when a scope is missing", async () => {
  const api = createEventsApi({
    heartbeatMs: 0,
    resourceScopes: { "bus.vm.": { read: "vm:read", write: "vm:write" } },
  });
  try {
    const listenOnly = await api.mintToken({ scopes: ["events:listen"] });
    const sendOnly = await api.mintToken({ scopes: ["events:send"] });
    const vmWriter = await api.mintToken({ scopes: ["vm:write"] });
    const publishAs = (token: string, name: string) =>
      api.fetch(
        new Request("http://x/api/v1/events", {
          method: "POST",
          headers: auth(token),
          body: JSON.stringify({ name }),
        }),
      );
    const streamAs = (token: string, name: string) =>
      api.fetch(
        new Request(`http://x/api/v1/events/stream?name=${name}`, { headers: auth(token) }),
      );

    const noSend = await publishAs(listenOnly, "a.b");
    assert.equal(noSend.status, 403);
    assert.equal((await errorOf(noSend)).type, "forbidden");
    const noListen = await streamAs(sendOnly, "a.b");
    assert.equal(noListen.status, 403);
    assert.equal((await errorOf(noListen)).type, "forbidden");
    const vmWithGeneric = await publishAs(sendOnly, "bus.vm.create.request");
    assert.equal(vmWithGeneric.status, 403);
    assert.match((await errorOf(vmWithGeneric)).message, /vm:write/);
    const vmOk = await publishAs(vmWriter, "bus.vm.create.request");
    assert.equal(vmOk.status, 202);
    await vmOk.body?.cancel();
    const vmRead = await streamAs(vmWriter, "bus.vm.create.request");
    assert.equal(vmRead.status, 403);
    await vmRead.body?.cancel();
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() accepts scopes given as a scopes array claim", async () => {
  const api = createEventsApi({ heartbeatMs: 0, auth: { secret: SECRET } });
  try {
    const token = await new SignJWT({ scopes: ["events:send"] })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("carol")
      .setAudience("ai.hg.fi/api")
      .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
      .sign(new TextEncoder().encode(SECRET));
    const response = await api.fetch(
      new Request("http://x/api/v1/events", {
        method: "POST",
        headers: auth(token),
        body: JSON.stringify({ name: "a.b" }),
      }),
    );
    assert.equal(response.status, 202);
    await response.body?.cancel();
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() stream rejects a bad query with 400", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const token = await api.mintToken();
  try {
    for (
      const query of [
        "",
        "name=",
        "name=Bad",
        "name=bus.*",
        "name=a.b&delivery=anycast",
        "name=a.b&delivery=unicast&group=has%20space",
        "name=a.b&consumer=" + "c".repeat(200),
        "name=a.b&replay=maybe",
        "name=a.b&follow=never",
      ]
    ) {
      const response = await api.fetch(
        new Request(`http://x/api/v1/events/stream?${query}`, { headers: auth(token) }),
      );
      assert.equal(response.status, 400, query);
      assert.equal((await errorOf(response)).type, "bad_request");
    }
    assert.equal(api.stats.openStreams, 0);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() broadcast delivers every event to every listener", async () => {
  await withServer(async (api, served, token) => {
    const readers = await Promise.all(
      ["one", "two", "three"].map((consumer) =>
        openStream(served.url, token, `name=example.ping&consumer=${consumer}`)
      ),
    );
    try {
      assert.equal(api.stats.openStreams, 3);
      const other = await publish(served.url, token, { name: "example.other" });
      assert.equal(other.status, 202);
      for (let n = 0; n < 5; n++) {
        assert.equal(
          (await publish(served.url, token, { name: "example.ping", payload: n })).status,
          202,
        );
      }
      for (const reader of readers) {
        const events = await reader.take(5);
        assert.deepEqual(events.map((event) => event.payload), [0, 1, 2, 3, 4]);
      }
      assert.equal(api.stats.published, 6);
      assert.equal(api.stats.delivered(), 15);
      assert.equal(api.stats.delivered({ consumer: "two" }), 5);
      assert.equal(api.stats.delivered({ name: "example.other" }), 0);
    } finally {
      await Promise.all(readers.map((reader) => reader.cancel()));
    }
    await until(() => api.stats.openStreams === 0, 5_000, "streams to close");
  });
});

Deno.test("createEventsApi() stream opens with a keepalive and sends its headers at once", async () => {
  await withServer(async (_api, served, token) => {
    const reader = await openStream(served.url, token, "name=a.b");
    try {
      assert.equal(await reader.next(), "");
    } finally {
      await reader.cancel();
    }
  });
});

Deno.test("createEventsApi() replay=true sends the history first, then live events", async () => {
  await withServer(async (_api, served, token) => {
    for (let n = 0; n < 3; n++) await publish(served.url, token, { name: "a.b", payload: n });
    const reader = await openStream(served.url, token, "name=a.b&replay=true");
    try {
      assert.deepEqual((await reader.take(3)).map((event) => event.payload), [0, 1, 2]);
      await publish(served.url, token, { name: "a.b", payload: 3 });
      assert.deepEqual((await reader.take(1)).map((event) => event.payload), [3]);
    } finally {
      await reader.cancel();
    }
  });
});

Deno.test("createEventsApi() follow=false ends the response after the snapshot", async () => {
  await withServer(async (api, served, token) => {
    for (let n = 0; n < 3; n++) await publish(served.url, token, { name: "a.b", payload: n });
    const snapshot = await openStream(served.url, token, "name=a.b&replay=true&follow=false");
    const lines = await snapshot.rest();
    assert.deepEqual(lines.map((line) => JSON.parse(line).payload), [0, 1, 2]);
    const empty = await openStream(served.url, token, "name=a.b&follow=false");
    assert.deepEqual(await empty.rest(), []);
    await until(() => api.stats.openStreams === 0, 5_000, "streams to close");
  });
});

Deno.test("createEventsApi() historyLimit drops the oldest events", async () => {
  const api = createEventsApi({ auth: false, heartbeatMs: 0, historyLimit: 3 });
  try {
    for (let n = 0; n < 5; n++) {
      const response = await api.fetch(
        new Request("http://x/api/v1/events", {
          method: "POST",
          body: JSON.stringify({ name: "a.b", payload: n }),
        }),
      );
      await response.body?.cancel();
    }
    const response = await api.fetch(
      new Request("http://x/api/v1/events/stream?name=a.b&replay=true&follow=false"),
    );
    const lines = await new LineReader(response.body).rest();
    assert.deepEqual(lines.map((line) => JSON.parse(line).payload), [2, 3, 4]);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() resumes after Last-Event-ID without gap or duplicate", async () => {
  await withServer(async (_api, served, token) => {
    const first = await openStream(served.url, token, "name=a.b");
    const ids: string[] = [];
    try {
      for (let n = 0; n < 5; n++) await publish(served.url, token, { name: "a.b", payload: n });
      const seen = await first.take(2);
      ids.push(...seen.map((event) => String(event.id)));
    } finally {
      await first.cancel();
    }
    // Published while disconnected; a resumed stream must see them once.
    for (let n = 5; n < 8; n++) await publish(served.url, token, { name: "a.b", payload: n });
    const resumed = await openStream(served.url, token, "name=a.b&replay=true", {
      "last-event-id": ids.at(-1) ?? "",
    });
    try {
      const backlog = await resumed.take(6);
      assert.deepEqual(backlog.map((event) => event.payload), [2, 3, 4, 5, 6, 7]);
      await publish(served.url, token, { name: "a.b", payload: 8 });
      const [live] = await resumed.take(1);
      assert.equal(live?.payload, 8);
    } finally {
      await resumed.cancel();
    }
    const unknown = await openStream(served.url, token, "name=a.b&follow=false", {
      "last-event-id": "not-an-id-of-ours",
    });
    const all = await unknown.rest();
    assert.equal(all.length, 9);
  });
});

Deno.test("createEventsApi() Last-Event-ID resume races live publishes without loss", async () => {
  await withServer(async (_api, served, token) => {
    const publishing = (async () => {
      for (let n = 0; n < 100; n++) await publish(served.url, token, { name: "a.b", payload: n });
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const reader = await openStream(served.url, token, "name=a.b", { "last-event-id": "0" });
    try {
      await publishing;
      const events = await reader.take(100);
      assert.deepEqual(events.map((event) => event.payload), [...Array(100).keys()]);
    } finally {
      await reader.cancel();
    }
  });
});

Deno.test("createEventsApi() frames SSE when Accept prefers text/event-stream", async () => {
  await withServer(async (api, served, token) => {
    const cases: [string | undefined, string][] = [
      [undefined, "application/x-ndjson"],
      ["*/*", "application/x-ndjson"],
      ["application/x-ndjson, text/event-stream", "application/x-ndjson"],
      ["text/event-stream, application/x-ndjson", "text/event-stream"],
      ["application/x-ndjson;q=0.5, text/event-stream", "text/event-stream"],
      ["text/event-stream;q=0.2, application/x-ndjson;q=0.9", "application/x-ndjson"],
      ["text/event-stream", "text/event-stream"],
      ["text/*, application/*;q=0.1", "text/event-stream"],
    ];
    for (const [accept, expected] of cases) {
      const headers: Record<string, string> = auth(token);
      if (accept !== undefined) headers.accept = accept;
      const response = await api.fetch(
        new Request("http://x/api/v1/events/stream?name=a.b&follow=false", { headers }),
      );
      assert.equal(response.headers.get("content-type"), expected, accept);
      assert.equal(response.headers.get("cache-control"), "no-cache");
      await response.body?.cancel();
    }

    const { body } = await publish(served.url, token, { name: "a.b", payload: "x" });
    const response = await fetch(`${served.url}/api/v1/events/stream?name=a.b&replay=true`, {
      headers: { ...auth(token), accept: "text/event-stream" },
    });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = new LineReader(response.body);
    try {
      assert.equal(await reader.next(), `id: ${body.id}`);
      const data = await reader.next();
      assert.ok(data?.startsWith("data: "));
      const event = JSON.parse(data?.slice("data: ".length) ?? "null");
      assert.equal(event.id, body.id);
      assert.equal(event.payload, "x");
      assert.equal(await reader.next(), "");
      api.faults.sendMalformed("{broken");
      assert.equal(await reader.next(), "data: {broken");
      assert.equal(await reader.next(), "");
    } finally {
      await reader.cancel();
    }
  });
});

Deno.test("createEventsApi() sends keepalives every heartbeatMs", async () => {
  await withServer(async (_api, served, token) => {
    const ndjson = await openStream(served.url, token, "name=a.b");
    const sse = await openStream(served.url, token, "name=a.b", { accept: "text/event-stream" });
    try {
      for (let n = 0; n < 3; n++) assert.equal(await ndjson.next(1_000), "");
      for (let n = 0; n < 3; n++) {
        assert.equal(await sse.next(1_000), ": keepalive");
        assert.equal(await sse.next(1_000), "");
      }
    } finally {
      await Promise.all([ndjson.cancel(), sse.cancel()]);
    }
  }, { heartbeatMs: 50 });
});

Deno.test("createEventsApi() cancelling a stream removes its subscriber at once", async () => {
  await withServer(async (api, served, token) => {
    const broadcast = await openStream(served.url, token, "name=a.b");
    const unicast = await openStream(served.url, token, "name=a.b&delivery=unicast");
    assert.equal(api.stats.openStreams, 2);
    await broadcast.cancel();
    await unicast.cancel();
    await until(() => api.stats.openStreams === 0, 5_000, "streams to close");
    await publish(served.url, token, { name: "a.b" });
    assert.equal(api.stats.delivered(), 0);

    const inProcess = await api.fetch(
      new Request("http://x/api/v1/events/stream?name=a.b", { headers: auth(token) }),
    );
    assert.equal(api.stats.openStreams, 1);
    await inProcess.body?.cancel();
    assert.equal(api.stats.openStreams, 0);
  });
});
