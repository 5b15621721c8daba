/**
 * The envelope rules: event names, the request → response name convention,
 * defaults and the shape check.
 */
import assert from "node:assert/strict";
import {
  assertEventName,
  ENVELOPE_VERSION,
  envelopeProblem,
  type EventEnvelope,
  eventNameProblem,
  isoTimestamp,
  MAX_EVENT_NAME_LENGTH,
  responseNameFor,
  withEnvelopeDefaults,
} from "../src/envelope.ts";
import { fakeTime } from "./_fake_time.ts";

const VALID_NAMES = [
  "a",
  "demo.ping",
  "bus.ssh.script.run.request",
  "under_score.dash-ed.0123",
  "-._",
];

Deno.test("eventNameProblem() returns undefined when the name is valid", () => {
  for (const name of VALID_NAMES) assert.equal(eventNameProblem(name), undefined, name);
});

Deno.test("eventNameProblem() answers a name asked again as it did the first time, past the valid names it keeps", () => {
  const invalid = ["Demo.Ping", "demo..ping", "demo.*", "", "a".repeat(256)];
  const first = invalid.map((name) => eventNameProblem(name));
  // More valid names than it keeps, so it starts over at least once.
  for (let i = 0; i < 2_500; i++) assert.equal(eventNameProblem(`demo.n${i}`), undefined);
  assert.deepEqual(invalid.map((name) => eventNameProblem(name)), first);
  assert.ok(first.every((problem) => problem !== undefined));
  for (let i = 0; i < 2_500; i += 97) assert.equal(eventNameProblem(`demo.n${i}`), undefined);
  assert.equal(eventNameProblem(42), "it is not a string");
});

Deno.test("eventNameProblem() accepts a name of exactly the maximum length", () => {
  const name = `${"a".repeat(MAX_EVENT_NAME_LENGTH - 2)}.b`;
  assert.equal(name.length, 255);
  assert.equal(eventNameProblem(name), undefined);
});

Deno.test("eventNameProblem() rejects a name one character over the maximum length", () => {
  assert.equal(MAX_EVENT_NAME_LENGTH, 255);
  assert.equal(
    eventNameProblem("a".repeat(MAX_EVENT_NAME_LENGTH + 1)),
    "it is longer than 255 characters",
  );
});

Deno.test("eventNameProblem() says why when the name is not a string or is empty", () => {
  for (const value of [undefined, null, 42, {}, ["a"]]) {
    assert.equal(eventNameProblem(value), "it is not a string", String(value));
  }
  assert.equal(eventNameProblem(""), "it is empty");
});

Deno.test("eventNameProblem() rejects wildcards", () => {
  for (const name of ["demo.*", "demo.>", "*", "a.*.c", "a>b"]) {
    assert.equal(eventNameProblem(name), "wildcards are not allowed", name);
  }
});

Deno.test("eventNameProblem() rejects uppercase, empty segments and other characters", () => {
  const rule = "use dot-separated lowercase letters, digits, '-' and '_'";
  for (
    const name of [
      "Demo.ping",
      "demo.PING",
      "demo..ping",
      ".demo",
      "demo.",
      ".",
      "demo ping",
      "demo/ping",
      "demo:ping",
      "démo.ping",
      " demo",
      "demo\n",
    ]
  ) {
    assert.equal(eventNameProblem(name), rule, JSON.stringify(name));
  }
});

Deno.test("assertEventName() returns when the name is valid", () => {
  for (const name of VALID_NAMES) assert.doesNotThrow(() => assertEventName(name), name);
});

Deno.test("assertEventName() throws TypeError naming the value and the problem when invalid", () => {
  assert.throws(() => assertEventName("Demo.*"), {
    name: "TypeError",
    message: 'Cannot use event name "Demo.*": wildcards are not allowed',
  });
  assert.throws(() => assertEventName(7), {
    name: "TypeError",
    message: "Cannot use event name 7: it is not a string",
  });
  assert.throws(() => assertEventName(""), {
    name: "TypeError",
    message: 'Cannot use event name "": it is empty',
  });
  assert.throws(() => assertEventName("a".repeat(256)), TypeError);
});

Deno.test("responseNameFor() swaps a trailing .request for .response", () => {
  assert.equal(responseNameFor("bus.ssh.script.run.request"), "bus.ssh.script.run.response");
  assert.equal(responseNameFor("a.request"), "a.response");
  assert.equal(responseNameFor("a.request.request"), "a.request.response");
});

Deno.test("responseNameFor() appends .response when the name does not end in .request", () => {
  assert.equal(responseNameFor("demo.job"), "demo.job.response");
  assert.equal(responseNameFor("request"), "request.response");
  assert.equal(responseNameFor("demo.myrequest"), "demo.myrequest.response");
  assert.equal(responseNameFor("demo.request.x"), "demo.request.x.response");
  assert.equal(responseNameFor("demo.response"), "demo.response.response");
});

Deno.test("withEnvelopeDefaults() fills version and the current time when they are missing", () => {
  using _time = fakeTime();
  const filled = withEnvelopeDefaults({ name: "demo.ping" });
  assert.deepEqual(filled, {
    name: "demo.ping",
    version: ENVELOPE_VERSION,
    timestamp: new Date(1_000_000).toISOString(),
  });
  assert.equal(ENVELOPE_VERSION, "v1");
});

Deno.test("withEnvelopeDefaults() stamps each publish's own millisecond as the clock moves within a second and past it", () => {
  using time = fakeTime();
  const stamps: string[] = [];
  for (const step of [0, 1, 9, 90, 899, 1, 1_000, 59_999]) {
    time.clock.tick(step);
    stamps.push(withEnvelopeDefaults<EventEnvelope>({ name: "demo.ping" }).timestamp!);
    assert.equal(stamps.at(-1), new Date(Date.now()).toISOString());
  }
  assert.equal(new Set(stamps).size, stamps.length, "every stamp its own");
});

Deno.test("isoTimestamp() writes what toISOString() writes, for any time a Date holds", () => {
  const times = [
    0,
    1,
    9,
    10,
    99,
    100,
    999,
    1_000,
    1_001,
    -1,
    -999,
    -1_000,
    -1_001,
    1_764_614_400_123,
    1_764_614_400_999,
    1_764_614_401_000,
    253_402_300_799_999,
    253_402_300_800_000, // the last ms of year 9999, the first of 10000
    -62_167_219_200_001, // before year 0
    8.64e15,
    -8.64e15, // the ends of a Date's range
    1_764_614_400_123.9,
    -1.5, // fractions: a Date truncates them
  ];
  // Each twice, and in an order that goes back and forth across seconds.
  for (const ms of [...times, ...times.toReversed()]) {
    assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
  }
  for (let ms = 1_764_614_399_000; ms < 1_764_614_402_000; ms += 7) {
    assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
  }
});

Deno.test("isoTimestamp() throws RangeError for a time no Date holds, as toISOString() does", () => {
  for (const ms of [Number.NaN, Infinity, 8.64e15 + 1]) {
    assert.throws(() => new Date(ms).toISOString(), RangeError);
    assert.throws(() => isoTimestamp(ms), RangeError, String(ms));
  }
});

Deno.test("withEnvelopeDefaults() takes the time from the given clock", () => {
  const at = new Date(Date.UTC(2024, 5, 6, 7, 8, 9, 10));
  assert.equal(
    withEnvelopeDefaults<EventEnvelope>({ name: "demo.ping" }, () => at).timestamp,
    "2024-06-06T07:08:09.010Z",
  );
});

Deno.test("withEnvelopeDefaults() keeps a given version and timestamp", () => {
  let asked = 0;
  const filled = withEnvelopeDefaults(
    { name: "demo.ping", version: "v2", timestamp: "2020-01-01T00:00:00Z" },
    () => {
      asked++;
      return new Date();
    },
  );
  assert.equal(filled.version, "v2");
  assert.equal(filled.timestamp, "2020-01-01T00:00:00Z");
  assert.equal(asked, 0, "the clock is not read");
});

Deno.test("withEnvelopeDefaults() keeps every other field, known or not, and leaves the input alone", () => {
  const event: EventEnvelope = {
    id: "e-1",
    name: "demo.ping",
    correlationId: "c-1",
    source: "worker-a",
    metadata: { k: "v" },
    payload: { nested: [1, 2] },
    error: { code: "E", message: "m" },
    "identity_id": "user-1",
    future: { field: true },
  };
  const snapshot = structuredClone(event);
  const filled = withEnvelopeDefaults(event, () => new Date(0));
  assert.notEqual(filled, event, "a copy");
  assert.deepEqual(event, snapshot, "the input is not changed");
  assert.deepEqual(filled, {
    ...snapshot,
    version: "v1",
    timestamp: "1970-01-01T00:00:00.000Z",
  });
});

Deno.test("envelopeProblem() returns undefined when the value is an object with a string name", () => {
  assert.equal(envelopeProblem({ name: "demo.ping" }), undefined);
  assert.equal(envelopeProblem({ name: "Not A Valid Name", extra: 1 }), undefined);
});

Deno.test("envelopeProblem() says not a JSON object when the value is not one", () => {
  for (const value of [null, undefined, "demo.ping", 1, true, [], [{ name: "a" }]]) {
    assert.equal(envelopeProblem(value), "not a JSON object", JSON.stringify(value));
  }
});

Deno.test("envelopeProblem() says there is no string name when name is missing or not a string", () => {
  for (const value of [{}, { name: 1 }, { name: null }, { payload: "x" }]) {
    assert.equal(envelopeProblem(value), "the envelope has no string name", JSON.stringify(value));
  }
});
