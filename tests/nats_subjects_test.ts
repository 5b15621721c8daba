/** subjectFor() and durableName(): how events and unicast groups map onto NATS names. */
import assert from "node:assert/strict";
import { durableName, subjectFor } from "../nats.ts";

Deno.test("subjectFor() puts the prefix before the event name", () => {
  assert.equal(subjectFor("bus.events", "x.y.request"), "bus.events.x.y.request");
});

Deno.test("durableName() is deterministic, readable and safe for any group", async () => {
  const name = await durableName("echo", "example.echo.request");
  assert.match(name, /^echo__example-echo-request_[0-9a-f]{12}$/);
  assert.equal(await durableName("echo", "example.echo.request"), name, "the same on every call");
  const odd = await durableName("team a/b.*>\u00e9", "x.y");
  assert.match(odd, /^[A-Za-z0-9_-]+$/, "no '.', '*', '>', white space or path separators");
  assert.ok((await durableName("g".repeat(500), "n.".repeat(200) + "n")).length <= 120);
});

Deno.test("durableName() gives pairs that read alike their own consumers", async () => {
  const names = await Promise.all([
    durableName("a.b", "x.y"),
    durableName("a-b", "x.y"),
    durableName("a", "b.x.y"),
    durableName("a", "x-y"),
    durableName("a", "x.y"),
  ]);
  assert.equal(new Set(names).size, names.length);
});
