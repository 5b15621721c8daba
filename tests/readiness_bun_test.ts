/**
 * `ListenerReadiness` on Bun, in a real Bun child (ignored where there is
 * no Bun): Bun's `EventTarget` is native, so a readiness is an ordinary one
 * there, and it must behave as tests/readiness_test.ts pins it on Deno;
 * until a listener is added, its flips make no `Event` (a native object
 * per flip of every registration of a host, which nobody could receive).
 */
import assert from "node:assert/strict";
import { bun, CONFIG } from "./_executables.ts";

const PROGRAM = `
import process from "node:process";
import { heapStats } from "bun:jsc";
import { ListenerReadiness } from ${JSON.stringify(import.meta.resolve("../mod.ts"))};

const readiness = new ListenerReadiness();
const seen = [];
readiness.addEventListener("change", function (event) {
  seen.push(["plain", event.ready, event.target === readiness, event.currentTarget === readiness, this === readiness]);
});
readiness.addEventListener("change", () => seen.push(["once"]), { once: true });
const controller = new AbortController();
readiness.addEventListener("change", () => seen.push(["signal"]), { signal: controller.signal });
const removed = () => seen.push(["removed"]);
readiness.addEventListener("change", removed);
readiness.removeEventListener("change", removed);
readiness.addEventListener("failure", { handleEvent: (event) => seen.push(["object", event.target === readiness]) });
readiness.set(true, "stream open");
controller.abort();
readiness.fail("503");
readiness.addEventListener("custom", (event) => event.preventDefault());
const cancelled = readiness.dispatchEvent(new Event("custom", { cancelable: true }));
const uncancelled = readiness.dispatchEvent(new Event("other", { cancelable: true }));

// Flips of readinesses nobody listens to: count the Event cells they make.
const quiet = Array.from({ length: 1000 }, () => new ListenerReadiness());
Bun.gc(true);
const before = heapStats().objectTypeCounts.Event ?? 0;
for (const one of quiet) {
  one.set(true, "stream open");
  one.fail("503");
  one.set(true, "stream open");
}
const eventsMade = (heapStats().objectTypeCounts.Event ?? 0) - before;
// A control: the same flips with a listener do make events.
const heard = Array.from({ length: 1000 }, () => new ListenerReadiness());
for (const one of heard) one.addEventListener("change", () => {});
const beforeHeard = heapStats().objectTypeCounts.Event ?? 0;
for (const one of heard) one.set(true, "stream open");
const eventsHeard = (heapStats().objectTypeCounts.Event ?? 0) - beforeHeard;
const waited = new ListenerReadiness();
const waiting = waited.waitReady();
waited.set(true, "open");
await waiting;
console.log(JSON.stringify({
  instance: readiness instanceof EventTarget,
  seen, cancelled, uncancelled, eventsMade, eventsHeard,
  quietState: [quiet[0].ready, quiet[0].reason, quiet[0].lastFailure],
}));
process.exit(0);
`;

Deno.test({
  name:
    "ListenerReadiness on Bun dispatches as an EventTarget and makes no event before a listener",
  ignore: bun === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "bus-readiness-bun-" });
    try {
      await Deno.writeTextFile(`${dir}/readiness.ts`, PROGRAM);
      const bundled = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--quiet",
          "--config",
          CONFIG,
          "--platform",
          "deno",
          "--format",
          "esm",
          "--external",
          "bun:jsc",
          "-o",
          `${dir}/readiness.mjs`,
          `${dir}/readiness.ts`,
        ],
      }).output();
      assert.equal(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
      const run = await new Deno.Command(bun!, {
        args: [`${dir}/readiness.mjs`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      const result = JSON.parse(new TextDecoder().decode(run.stdout).trim().split("\n").at(-1)!);
      assert.equal(result.instance, true);
      assert.deepEqual(result.seen, [
        ["plain", true, true, true, true],
        ["once"],
        ["signal"],
        ["plain", false, true, true, true],
        ["object", true],
      ]);
      assert.equal(result.cancelled, false);
      assert.equal(result.uncancelled, true);
      assert.equal(result.eventsMade, 0, "no Event for flips nobody can hear");
      assert.ok(result.eventsHeard >= 900, `the control made ${result.eventsHeard} events`);
      assert.deepEqual(result.quietState, [true, "stream open", "503"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
