import assert from "node:assert/strict";
import {
  AuthError,
  BadRequestError,
  BODY_EXCERPT_LIMIT,
  EventsApiError,
  EventsClient,
  TransientError,
} from "../mod.ts";
import { scriptedFetch } from "./_scripted_fetch.ts";

Deno.test("EventsClient accepts the site root and the collection URL", async () => {
  for (
    const base of [
      "http://bus.test",
      "http://bus.test/",
      "http://bus.test/api/v1/events",
      "http://bus.test/api/v1/events/",
    ]
  ) {
    const script = scriptedFetch([{ status: 202 }]);
    const client = new EventsClient({ baseUrl: base, fetch: script.fetch });
    await client.publish({ name: "a.b" });
    assert.equal(script.requests[0]!.url.href, "http://bus.test/api/v1/events", base);
  }
  const prefixed = new EventsClient({ baseUrl: "https://x.test/bus/" });
  assert.equal(prefixed.url, "https://x.test/bus/api/v1/events");
  assert.throws(() => new EventsClient({ baseUrl: "ftp://x.test" }), TypeError);
});

Deno.test("EventsClient refuses a base URL with user info, without echoing it", () => {
  for (
    const baseUrl of ["https://alice:s3cret@bus.test", "https://s3cret@bus.test/api/v1/events"]
  ) {
    assert.throws(
      () => new EventsClient({ baseUrl }),
      (error: unknown) =>
        error instanceof TypeError &&
        /user name or password; pass the token as `token`/.test(error.message) &&
        !/s3cret|alice/.test(error.message),
    );
  }
});

Deno.test("EventsClient.publish() validates the name before sending anything", async () => {
  const script = scriptedFetch([{ status: 202 }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  for (const name of ["", "Bus.Upper", "bus.*", "bus..x", "bus.x.", "bus x"]) {
    await assert.rejects(client.publish({ name }), TypeError, name);
  }
  assert.equal(script.requests.length, 0);
});

Deno.test("EventsClient.publish() defaults version and timestamp and keeps unknown fields", async () => {
  const script = scriptedFetch([{ status: 202 }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", token: "t", fetch: script.fetch });
  const result = await client.publish({ name: "a.b", payload: { n: 1 }, futureField: [1, 2] });
  assert.deepEqual(result, { id: "p1", name: "a.b" });
  const sent = JSON.parse(script.requests[0]!.body);
  assert.equal(sent.version, "v1");
  assert.ok(!Number.isNaN(Date.parse(sent.timestamp)));
  assert.deepEqual(sent.futureField, [1, 2]);
  assert.equal(script.requests[0]!.headers.get("content-type"), "application/json");
  const kept = JSON.parse(
    await (async () => {
      const s = scriptedFetch([{ status: 202 }]);
      await new EventsClient({ baseUrl: "http://bus.test", fetch: s.fetch })
        .publish({ name: "a.b", version: "v2", timestamp: "2026-01-01T00:00:00Z" });
      return s.requests[0]!.body;
    })(),
  );
  assert.equal(kept.version, "v2");
  assert.equal(kept.timestamp, "2026-01-01T00:00:00Z");
});

Deno.test("EventsClient.publish() resolves with id undefined when a 2xx answer carries no id", async () => {
  const answers = [
    () => new Response(null, { status: 204 }),
    () => Response.json({ accepted: true }, { status: 202 }),
    () => Response.json({ accepted: true, id: 7, name: "other.name" }, { status: 202 }),
    () => new Response("queued", { status: 200 }),
  ];
  const results = [];
  for (const answer of answers) {
    let posts = 0;
    const client = new EventsClient({
      baseUrl: "http://bus.test",
      fetch: () => {
        posts++;
        return Promise.resolve(answer());
      },
    });
    results.push(await client.publish({ name: "a.b" }));
    assert.equal(posts, 1, "published once, never retried into a duplicate");
  }
  assert.deepEqual(results, [
    { id: undefined, name: "a.b" },
    { id: undefined, name: "a.b" },
    { id: undefined, name: "other.name" },
    { id: undefined, name: "a.b" },
  ]);
});

Deno.test("EventsClient calls the token provider for every request", async () => {
  const script = scriptedFetch([{ status: 202 }]);
  let issued = 0;
  const client = new EventsClient({
    baseUrl: "http://bus.test",
    token: () => Promise.resolve(`token-${++issued}`),
    fetch: script.fetch,
  });
  await client.publish({ name: "a.b" });
  await client.publish({ name: "a.b" });
  assert.deepEqual(script.requests.map((r) => r.headers.get("authorization")), [
    "Bearer token-1",
    "Bearer token-2",
  ]);
});

Deno.test("EventsClient maps statuses to error classes with a bounded excerpt", async () => {
  const cases: Array<[number, new (...args: never[]) => Error, string]> = [
    [400, BadRequestError, "bad_request"],
    [401, AuthError, "invalid_auth"],
    [403, AuthError, "forbidden"],
    [404, EventsApiError, "not_found"],
    [429, TransientError, "rate_limited"],
    [503, TransientError, "unavailable"],
  ];
  for (const [status, type, code] of cases) {
    const script = scriptedFetch([{
      status,
      headers: { "retry-after": "3" },
      errorBody: { error: { type: code, message: `m${status}` }, padding: "x".repeat(5000) },
    }]);
    const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
    const error: EventsApiError = await client.publish({ name: "a.b" }).catch((e) => e);
    assert.ok(error instanceof type, `${status} → ${error}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    assert.ok(error.bodyExcerpt.length <= BODY_EXCERPT_LIMIT);
    assert.match(error.message, new RegExp(`^Cannot publish event: Events API answered ${status}`));
    if (error instanceof TransientError) assert.equal(error.retryAfter, 3000);
  }
});

Deno.test("EventsClient never puts the token in errors or inspection output", async () => {
  const token = "sekret-token-value-123";
  const script = scriptedFetch([{
    status: 401,
    // A hostile server echoing the header back.
    errorBody: { error: { type: "invalid_auth", message: `bad token Bearer ${token}` } },
  }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", token, fetch: script.fetch });
  const error = await client.publish({ name: "a.b" }).catch((e) => e);
  assert.ok(error instanceof AuthError);
  for (const text of [error.message, error.bodyExcerpt, String(error), Deno.inspect(error)]) {
    assert.ok(!text.includes(token), text);
  }
  assert.ok(!Deno.inspect(client).includes(token));
  assert.ok(!String(client).includes(token));
  assert.ok(!JSON.stringify(client).includes(token));
});

Deno.test("EventsClient turns a network failure into TransientError and an abort into its reason", async () => {
  const failing = new EventsClient({
    baseUrl: "http://bus.test",
    fetch: () => Promise.reject(new TypeError("connection refused")),
  });
  const error = await failing.publish({ name: "a.b" }).catch((e) => e);
  assert.ok(error instanceof TransientError);
  assert.equal(error.code, "network");
  assert.ok(error.cause instanceof TypeError);

  const reason = new Error("caller gave up");
  const script = scriptedFetch([{ end: "hang" }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  await assert.rejects(
    client.open({ name: "a.b", signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
});

Deno.test("EventsClient.open() sends Accept and a non-ASCII Last-Event-ID as UTF-8 bytes", async () => {
  const script = scriptedFetch([{ end: "eof" }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  const stream = await client.open({ name: "a.b", lastEventId: "ä-1\n" });
  await stream.close();
  const headers = script.requests[0]!.headers;
  assert.equal(headers.get("accept"), "application/x-ndjson, text/event-stream");
  const raw = headers.get("last-event-id")!;
  const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  assert.equal(new TextDecoder().decode(bytes), "ä-1");
});

Deno.test("EventsClient.open() rejects a response that is not an event stream", async () => {
  const client = new EventsClient({
    baseUrl: "http://bus.test",
    fetch: () =>
      Promise.resolve(new Response("<html>", { headers: { "content-type": "text/html" } })),
  });
  await assert.rejects(client.open({ name: "a.b" }), /unexpected Content-Type "text\/html"/);
});

Deno.test("EventsClient.open() reads an application/json or application/jsonl body as NDJSON", async () => {
  for (const type of ["application/json", "application/jsonl", "application/json; charset=utf-8"]) {
    const script = scriptedFetch([{
      headers: { "content-type": type },
      events: [{ name: "a.b", id: "1" }, "not json", { name: "a.b", id: "2" }],
      end: "eof",
    }]);
    const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
    const invalid: string[] = [];
    const stream = await client.open({
      name: "a.b",
      onInvalid: (input) => invalid.push(input.kind),
    });
    assert.equal(stream.framing, "ndjson", type);
    const ids: Array<string | undefined> = [];
    for await (const event of stream) ids.push(event.id);
    assert.deepEqual(ids, ["1", "2"], type);
    assert.deepEqual(invalid, ["invalid-json"], type);
  }
});

Deno.test("EventsClient.stream() cancels the request when the consumer stops", async () => {
  const script = scriptedFetch([{
    events: [{ name: "a.b", id: "1" }, { name: "a.b", id: "2" }],
    end: "hang",
  }]);
  const client = new EventsClient({ baseUrl: "http://bus.test", fetch: script.fetch });
  for await (const event of client.stream({ name: "a.b" })) {
    assert.equal(event.id, "1");
    break;
  }
  assert.equal(script.open, 0);
});

Deno.test("EventsClient stream: an SSE reset of the event ID clears the resume point", async () => {
  const body = 'id: 7\ndata: {"name":"a.b"}\n\nid\ndata: {"name":"a.b"}\n\n';
  const client = new EventsClient({
    baseUrl: "http://bus.test",
    fetch: () =>
      Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } })),
  });
  const stream = await client.open({ name: "a.b", lastEventId: "3" });
  assert.equal(stream.lastEventId, "3", "before any event: the ID it was opened with");
  const seen: Array<string | undefined> = [];
  for await (const event of stream) {
    await stream.settle(event, { type: "done" });
    seen.push(stream.lastEventId);
  }
  assert.deepEqual(seen, ["7", ""]);
});
