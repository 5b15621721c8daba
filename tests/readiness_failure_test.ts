/**
 * `ListenerReadiness.fail()` and `lastFailure`: every failure of a listener
 * is kept and announced, not only the one that flipped it, and an
 * aggregate readiness takes its parts' failures as its own.
 */
import assert from "node:assert/strict";
import { aggregateReadiness, ListenerReadiness } from "../src/readiness.ts";

Deno.test("ListenerReadiness.fail() records each failure and flips to not ready only once", () => {
  const readiness = new ListenerReadiness();
  const changes: string[] = [];
  let failures = 0;
  readiness.addEventListener("change", (event) => changes.push(`${event.ready} ${event.reason}`));
  readiness.addEventListener("failure", () => failures++);
  assert.equal(readiness.lastFailure, undefined);
  readiness.set(true, "stream open");
  readiness.fail("TransientError: first");
  readiness.fail("AuthError: second");
  assert.deepEqual(changes, ["true stream open", "false TransientError: first"]);
  assert.equal(failures, 2);
  assert.equal(readiness.lastFailure, "AuthError: second");
  assert.equal(readiness.reason, "AuthError: second", "the reason follows the latest failure");
  readiness.set(true, "stream open");
  assert.equal(readiness.lastFailure, "AuthError: second", "kept once ready again");
});

Deno.test("aggregateReadiness() passes each part's failure on to the target until stopped", () => {
  const target = new ListenerReadiness();
  const parts = [new ListenerReadiness(), new ListenerReadiness()];
  const stop = aggregateReadiness(target, parts);
  parts[1]!.fail("TransientError: refused (ECONNREFUSED 127.0.0.1:9)");
  assert.equal(target.lastFailure, "TransientError: refused (ECONNREFUSED 127.0.0.1:9)");
  assert.equal(target.ready, false);
  parts[0]!.fail("AuthError: 401");
  assert.equal(target.lastFailure, "AuthError: 401");
  stop();
  parts[0]!.fail("Error: after stop");
  assert.equal(target.lastFailure, "AuthError: 401");
});
