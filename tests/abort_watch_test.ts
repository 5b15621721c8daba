/**
 * `watchAbort()` / `unwatchAbort()`: many watchers of one signal behind one
 * abort listener, called once each in order, with the semantics of
 * `addEventListener("abort", …, { once: true })` and `removeEventListener`.
 */
import assert from "node:assert/strict";
import { unwatchAbort, watchAbort } from "../src/abort_watch.ts";

/** A signal whose own `addEventListener` / `removeEventListener` calls for "abort" are counted. */
function countedSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const counts = { added: 0, removed: 0 };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type: string, ...rest: [never, never?]) => {
    if (type === "abort") counts.added++;
    add(type, ...rest);
  };
  signal.removeEventListener = (type: string, ...rest: [never, never?]) => {
    if (type === "abort") counts.removed++;
    remove(type, ...rest);
  };
  return { controller, signal, counts };
}

Deno.test("watchers are called once each, in the order they watched, through one listener", () => {
  const { controller, signal, counts } = countedSignal();
  const calls: string[] = [];
  const object = {
    name: "object",
    handleEvent(this: { name: string }) {
      calls.push(this.name);
    },
  };
  watchAbort(signal, () => calls.push("first"));
  watchAbort(signal, object);
  watchAbort(signal, () => calls.push(`third saw aborted: ${signal.aborted}`));
  assert.equal(counts.added, 1, "one listener on the signal");
  controller.abort();
  controller.abort();
  assert.deepEqual(calls, ["first", "object", "third saw aborted: true"]);
});

Deno.test("a watcher watching twice is called once; an unwatched one is not called", () => {
  const { controller, signal } = countedSignal();
  let twice = 0;
  let gone = 0;
  const watcher = () => twice++;
  const leaving = () => gone++;
  watchAbort(signal, watcher);
  watchAbort(signal, watcher);
  watchAbort(signal, leaving);
  unwatchAbort(signal, leaving);
  unwatchAbort(signal, leaving);
  unwatchAbort(signal, () => {}); // never watched: ignored
  controller.abort();
  assert.equal(twice, 1);
  assert.equal(gone, 0);
});

Deno.test("the last watcher to go takes the signal's listener; the next one adds it again", () => {
  const { controller, signal, counts } = countedSignal();
  const calls: number[] = [];
  const watchers = Array.from({ length: 10_000 }, (_, i) => () => calls.push(i));
  for (const watcher of watchers) watchAbort(signal, watcher);
  // Reverse order: each removal finds its watcher at the end of an EventTarget's list.
  for (const watcher of watchers.toReversed()) unwatchAbort(signal, watcher);
  assert.deepEqual(counts, { added: 1, removed: 1 });
  watchAbort(signal, watchers[7]!);
  assert.deepEqual(counts, { added: 2, removed: 1 });
  controller.abort();
  assert.deepEqual(calls, [7], "only the watcher watching at the abort");
});

Deno.test("nothing is watched on a signal that aborted already", () => {
  const { controller, signal, counts } = countedSignal();
  controller.abort();
  let called = 0;
  watchAbort(signal, () => called++);
  assert.equal(counts.added, 0);
  assert.equal(called, 0);
  unwatchAbort(signal, () => {});
  assert.equal(counts.removed, 0);
});

Deno.test("during the abort, a watcher unwatched by an earlier one is skipped, as with removeEventListener", () => {
  const { controller, signal } = countedSignal();
  const calls: string[] = [];
  const later = () => calls.push("later");
  watchAbort(signal, () => {
    calls.push("earlier");
    unwatchAbort(signal, later);
  });
  watchAbort(signal, later);
  controller.abort();
  assert.deepEqual(calls, ["earlier"]);
});

Deno.test("a watcher that throws does not keep the others from being called; its error is reported", async () => {
  const { controller, signal } = countedSignal();
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    const calls: string[] = [];
    const failure = new Error("watcher failed");
    watchAbort(signal, () => {
      throw failure;
    });
    watchAbort(signal, () => calls.push("after the failure"));
    controller.abort();
    assert.deepEqual(calls, ["after the failure"]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(reported, [failure]);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("each signal keeps its own watchers", () => {
  const a = new AbortController();
  const b = new AbortController();
  const calls: string[] = [];
  watchAbort(a.signal, () => calls.push("a"));
  watchAbort(b.signal, () => calls.push("b"));
  b.abort();
  assert.deepEqual(calls, ["b"]);
  a.abort();
  assert.deepEqual(calls, ["b", "a"]);
});

Deno.test("no signal is nothing to watch or unwatch", () => {
  let called = 0;
  const watcher = () => called++;
  watchAbort(undefined, watcher);
  unwatchAbort(undefined, watcher);
  assert.equal(called, 0);
});
