/**
 * `causeOf()` and `describeError()`: what a failure's cause chain says, from
 * the errors each runtime's `fetch` really throws and from hand-built
 * chains; `dialedUrl()`: the address shown without credentials.
 */
import assert from "node:assert/strict";
import { causeOf } from "../src/failure_cause.ts";
import { dialedUrl, transportSummary, withoutCredentials } from "../src/dialed_url.ts";
import { describeError, RegistrationError, TransientError } from "../mod.ts";
import { freePort } from "./_nats_server.ts";

async function fetchFailure(url: string): Promise<unknown> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
  } catch (error) {
    return error;
  }
  throw new Error(`${url} answered`);
}

Deno.test("causeOf() reads ECONNREFUSED and the address from this runtime's real fetch failure", async () => {
  const port = await freePort();
  const failure = await fetchFailure(`http://127.0.0.1:${port}/api/v1/events`);
  assert.equal(
    causeOf(new TransientError("x", { cause: failure })),
    `ECONNREFUSED 127.0.0.1:${port}`,
  );
});

Deno.test("causeOf() says fetch refuses a blocked port such as 9 before dialing", async () => {
  const failure = await fetchFailure("http://127.0.0.1:9/api/v1/events");
  assert.match(causeOf(new TransientError("x", { cause: failure }))!, /^blocked port( 9)?: /);
});

Deno.test("causeOf() reads Node's code and address fields and Deno's and Bun's texts alike", () => {
  const node = Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:8080"), {
    code: "ECONNREFUSED",
    address: "10.0.0.7",
    port: 8080,
  });
  const nodeDns = Object.assign(new Error("getaddrinfo ENOTFOUND bus.invalid"), {
    code: "ENOTFOUND",
    hostname: "bus.invalid",
  });
  const deno = new Error(
    "error sending request for url (https://bus.example.test/api/v1/events/x/stream): client error (Connect): tcp connect error: Connection refused (os error 111)",
  );
  const bun = Object.assign(
    new Error("Unable to connect. Is the computer able to access the url?"),
    {
      code: "ConnectionRefused",
      path: "http://127.0.0.1:4000/api/v1/events",
    },
  );
  const cases: Array<[unknown, string]> = [
    [new TypeError("fetch failed", { cause: node }), "ECONNREFUSED 10.0.0.7:8080"],
    [new TypeError("fetch failed", { cause: nodeDns }), "ENOTFOUND bus.invalid"],
    [new TypeError("fetch failed", { cause: deno }), "ECONNREFUSED bus.example.test:443"],
    [bun, "ECONNREFUSED 127.0.0.1:4000"],
  ];
  for (const [cause, expected] of cases) {
    assert.equal(causeOf(new TransientError("x", { cause })), expected);
  }
});

Deno.test("causeOf() gives the deepest cause's name and message when no socket error is in the chain", () => {
  const root = new RangeError("bad frame");
  assert.equal(
    causeOf(new Error("a", { cause: new Error("b", { cause: root }) })),
    "RangeError: bad frame",
  );
  assert.equal(causeOf(new Error("a", { cause: "just text" })), "just text");
  assert.equal(causeOf(new Error("no cause")), undefined);
  assert.equal(
    causeOf(new TypeError("orderingKey threw: no key", { cause: new Error("no key") })),
    undefined,
    "a message that quotes its cause",
  );
  assert.equal(causeOf("not an error"), undefined);
});

Deno.test("causeOf() stops on a cause chain that loops", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as { cause?: unknown }).cause = b;
  // It ends; `a` quotes itself, so only `b` could be added.
  assert.ok([undefined, "Error: b"].includes(causeOf(a)), String(causeOf(a)));
});

Deno.test("describeError() appends the cause once, and not when the message already says it", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), {
    code: "ECONNREFUSED",
    address: "127.0.0.1",
    port: 9,
  });
  const network = new TransientError("Cannot open stream: the network request failed", {
    cause: new TypeError("fetch failed", { cause: refused }),
  });
  assert.equal(
    describeError(network),
    "TransientError: Cannot open stream: the network request failed (ECONNREFUSED 127.0.0.1:9)",
  );
  // RegistrationError's message embeds its cause's description already.
  assert.equal(
    describeError(new RegistrationError("echo", network)),
    `RegistrationError: Cannot keep running registration "echo": ${describeError(network)}`,
  );
  assert.equal(describeError(new Error("plain")), "Error: plain");
});

Deno.test("dialedUrl() drops user, password and query from a transport's url, and falls back to its summary", () => {
  assert.equal(
    dialedUrl({ url: "https://user:secret@bus.example.test/api/v1/events?token=abc#x" }),
    "https://bus.example.test/api/v1/events",
  );
  assert.equal(
    dialedUrl({ url: "nats://a:b@10.0.0.1:4222, 10.0.0.2:4222" }),
    "nats://10.0.0.1:4222,10.0.0.2:4222",
  );
  assert.equal(withoutCredentials("user:pw@127.0.0.1:4222?x=1"), "127.0.0.1:4222");
  assert.equal(dialedUrl({ toString: () => "Custom(transport)" }), "Custom(transport)");
  assert.equal(dialedUrl({ url: "", toString: () => "Empty" }), "Empty");
});

Deno.test("transportSummary() removes user info and query from every URL in a transport's summary", () => {
  const transport = {
    toString: () => "EventsClient(https://user:pw@bus.example.test/api/v1/events)",
  };
  assert.equal(transportSummary(transport), "EventsClient(https://bus.example.test/api/v1/events)");
  assert.equal(
    transportSummary({ toString: () => "Pair(nats://a:b@h1:4222, nats://h2:4222)" }),
    "Pair(nats://h1:4222, nats://h2:4222)",
  );
  assert.equal(
    transportSummary({ toString: () => "Custom(https://h/api?token=s3cret#x, wss://u@h2/ws)" }),
    "Custom(https://h/api, wss://h2/ws)",
  );
});

Deno.test("describeError() writes a value that is not an Error as JSON, not [object Object]", () => {
  assert.equal(describeError({ code: "E_QUOTA", limit: 5 }), '{"code":"E_QUOTA","limit":5}');
  assert.equal(describeError("plain"), "plain");
  assert.equal(describeError(42), "42");
  assert.equal(describeError(undefined), "undefined");
  assert.equal(describeError(10n), "10");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(describeError(cyclic), "[object Object]");
  // A plain-object cause that is no socket error reads as JSON too.
  assert.equal(
    describeError(new Error("Cannot sync", { cause: { reason: "conflict", at: 3 } })),
    'Error: Cannot sync ({"reason":"conflict","at":3})',
  );
});
