/**
 * A quiet stream (no keepalives) on the reference server under each runtime
 * stays open past Bun.serve's default 10 s idle timeout, and the next event
 * still arrives on it. Waiting out that timeout is the point of the test, so
 * it sleeps once, for all four servers at the same time.
 */
import assert from "node:assert/strict";
import { EventsClient } from "../../mod.ts";
import { RoleProcess } from "./_process.ts";
import { RUNTIMES, runtimes } from "./_runtimes.ts";

const START_MS = 30_000;
/** Past Bun's 10 s default (it cut the stream at about 12 s when it was on). */
const QUIET_MS = 13_000;
const STEP_MS = 10_000;

Deno.test("a quiet stream on the reference server under every runtime outlives 10 s idle", async () => {
  const all = await runtimes();
  await using stack = new AsyncDisposableStack();
  const servers = RUNTIMES.map((name) =>
    stack.use(
      new RoleProcess(`server under ${name}`, all[name].role("server", { ROLE_HEARTBEAT_MS: "0" })),
    )
  );
  const ready = await Promise.all(
    servers.map((server) => server.report<{ url: string; token: string }>("ready", START_MS)),
  );
  const clients = ready.map(({ url, token }) => new EventsClient({ baseUrl: url, token }));
  const streams = await Promise.all(clients.map((client) => client.open({ name: "cross.quiet" })));
  const iterators = streams.map((stream) => stream[Symbol.asyncIterator]());
  try {
    const next = iterators.map((iterator) => iterator.next());
    for (const pending of next) pending.catch(() => {}); // awaited below
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    await Promise.all(
      clients.map((client, i) =>
        client.publish({ name: "cross.quiet", payload: { to: RUNTIMES[i] } })
      ),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no event within the deadline")), STEP_MS);
    });
    const results = await Promise.allSettled(next.map((pending) => Promise.race([pending, late])));
    clearTimeout(timer);
    const outcome = results.map((result, i) =>
      `${RUNTIMES[i]}: ${
        result.status === "fulfilled"
          ? JSON.stringify((result.value.value as { payload?: unknown } | undefined)?.payload)
          : String(result.reason)
      }`
    );
    assert.deepEqual(outcome, RUNTIMES.map((name) => `${name}: ${JSON.stringify({ to: name })}`));
  } finally {
    await Promise.all(streams.map((stream) => stream.close()));
  }
});
