/**
 * The reconnect bounds drive a timer, so the env contract refuses them past
 * the longest wait a timer takes (2^31 − 1 ms), naming the variable and the
 * limit; a duration past Go's own limit says the real limit too.
 */
import assert from "node:assert/strict";
import { ConfigError, listenerOptionsFromEnv } from "../mod.ts";

const LIMIT = "596h31m23.647s (2147483647 ms, the longest a timer can wait)";

function refusal(variable: string, value: string): (error: unknown) => boolean {
  return (error) =>
    error instanceof ConfigError && error.variable === variable &&
    error.message ===
      `Cannot use ${variable}: current value is "${value}", expected a Go duration from 0 to ${LIMIT}, e.g. 500ms, 1s or 1m30s`;
}

Deno.test("listenerOptionsFromEnv() refuses reconnect bounds a timer cannot wait, naming the limit", () => {
  const cases: Array<[Record<string, string>, string, string]> = [
    [
      { BUS_EVENTS_LISTENER_RETRY_MIN: "600h", BUS_EVENTS_LISTENER_RETRY_MAX: "600h" },
      "BUS_EVENTS_LISTENER_RETRY_MIN",
      "600h",
    ],
    [{ BUS_EVENTS_LISTENER_RETRY_MAX: "600h" }, "BUS_EVENTS_LISTENER_RETRY_MAX", "600h"],
    [
      { BUS_EVENTS_LISTENER_RETRY_MAX: "596h31m23.648s" },
      "BUS_EVENTS_LISTENER_RETRY_MAX",
      "596h31m23.648s",
    ],
    // Past Go's limit too: the message says the limit that applies, not "non-negative".
    [{ BUS_EVENTS_LISTENER_RETRY_MAX: "3000000h" }, "BUS_EVENTS_LISTENER_RETRY_MAX", "3000000h"],
    [{ BUS_EVENTS_LISTENER_RETRY_MIN: "-1s" }, "BUS_EVENTS_LISTENER_RETRY_MIN", "-1s"],
    [{ BUS_EVENTS_LISTENER_RETRY_MIN: "banana" }, "BUS_EVENTS_LISTENER_RETRY_MIN", "banana"],
    // Off is no excuse: the day it is turned on, it would loop.
    [
      { BUS_EVENTS_LISTENER_RETRY: "0", BUS_EVENTS_LISTENER_RETRY_MAX: "720h" },
      "BUS_EVENTS_LISTENER_RETRY_MAX",
      "720h",
    ],
  ];
  for (const [env, variable, value] of cases) {
    assert.throws(() => listenerOptionsFromEnv(env), refusal(variable, value), JSON.stringify(env));
  }
});

Deno.test("listenerOptionsFromEnv() takes reconnect bounds up to the timer limit exactly", () => {
  const options = listenerOptionsFromEnv({
    BUS_EVENTS_LISTENER_RETRY_MIN: "596h31m23.647s",
    BUS_EVENTS_LISTENER_RETRY_MAX: "596h31m23.647s",
  });
  assert.deepEqual(options.reconnect, {
    min: 2_147_483_647,
    max: 2_147_483_647,
    healthyAfter: 10_000,
  });
});

Deno.test("listenerOptionsFromEnv() takes a HEALTHY_AFTER past the timer limit: it is compared with the clock", () => {
  const options = listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_HEALTHY_AFTER: "1000h" });
  assert.equal(options.reconnect && options.reconnect.healthyAfter, 3_600_000_000);
  assert.throws(
    () => listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_HEALTHY_AFTER: "3000000h" }),
    (error) =>
      error instanceof ConfigError &&
      /expected a Go duration from 0 to 2562047h47m16\.854775807s/.test(error.message),
  );
});
