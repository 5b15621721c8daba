import assert from "node:assert/strict";
import { createEventsApi } from "../testing.ts";
import { LineReader, withTimeout } from "./_ndjson_lines.ts";
import { until } from "./_poll.ts";

async function openStream(url: string, token: string, query: string): Promise<LineReader> {
  const response = await fetch(`${url}/api/v1/events/stream?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  return new LineReader(response.body);
}

async function publishMany(
  url: string,
  token: string,
  name: string,
  count: number,
  parallel = 8,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const response = await fetch(`${url}/api/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ name, payload: n }),
      });
      assert.equal(response.status, 202);
      await response.body?.cancel();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Reads events from every reader until `total` arrived across them. */
async function collect(readers: LineReader[], total: number): Promise<number[][]> {
  const seen: number[][] = readers.map(() => []);
  let count = 0;
  const done = Promise.withResolvers<void>();
  const loops = readers.map(async (reader, index) => {
    while (true) {
      const event = await reader.nextJson(10_000).catch(() => undefined);
      if (event === undefined) return;
      seen[index]?.push(Number(event.payload));
      if (++count >= total) done.resolve();
    }
  });
  try {
    await withTimeout(done.promise, 20_000);
  } finally {
    await Promise.all(readers.map((reader) => reader.cancel()));
    await Promise.all(loops);
  }
  return seen;
}

Deno.test("createEventsApi() unicast hands each of 1,000 events to exactly one of 3 consumers", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const readers = await Promise.all(
      ["w1", "w2", "w3"].map((consumer) =>
        openStream(served.url, token, `name=jobs.run&delivery=unicast&group=g&consumer=${consumer}`)
      ),
    );
    const [seen] = await Promise.all([
      collect(readers, 1_000),
      publishMany(served.url, token, "jobs.run", 1_000),
    ]);
    const all = seen.flat().sort((a, b) => a - b);
    assert.deepEqual(all, [...Array(1_000).keys()], "each event exactly once");
    for (const [index, events] of seen.entries()) {
      assert.ok(events.length > 0, `consumer ${index + 1} got some events`);
    }
    assert.equal(api.stats.delivered({ group: "g" }), 1_000);
    assert.equal(
      ["w1", "w2", "w3"].reduce((sum, consumer) => sum + api.stats.delivered({ consumer }), 0),
      1_000,
    );
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() unicast gives every group its own copy", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    const a = await openStream(served.url, token, "name=jobs.run&delivery=unicast&group=a");
    const b1 = await openStream(
      served.url,
      token,
      "name=jobs.run&delivery=unicast&group=b&consumer=1",
    );
    const b2 = await openStream(
      served.url,
      token,
      "name=jobs.run&delivery=unicast&group=b&consumer=2",
    );
    const [[fromA], [fromB1, fromB2]] = await Promise.all([
      collect([a], 50),
      collect([b1, b2], 50),
      publishMany(served.url, token, "jobs.run", 50),
    ]);
    assert.deepEqual([...(fromA ?? [])].sort((x, y) => x - y), [...Array(50).keys()]);
    const b = [...(fromB1 ?? []), ...(fromB2 ?? [])].sort((x, y) => x - y);
    assert.deepEqual(b, [...Array(50).keys()]);
    assert.equal(api.stats.delivered({ group: "a" }), 50);
    assert.equal(api.stats.delivered({ group: "b" }), 50);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() unicast keeps events for a group while no consumer is connected", async () => {
  const api = createEventsApi({ heartbeatMs: 0, groupBacklogLimit: 5 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    await publishMany(served.url, token, "jobs.run", 3, 1);
    // The group does not exist yet: these are history, not its backlog.
    const first = await openStream(served.url, token, "name=jobs.run&delivery=unicast&group=g");
    await first.cancel();
    await until(() => api.stats.openStreams === 0, 5_000, "consumer gone");
    await publishMany(served.url, token, "jobs.run", 8, 1);
    const back = await openStream(served.url, token, "name=jobs.run&delivery=unicast&group=g");
    try {
      const events = await back.take(5);
      // Bounded by groupBacklogLimit: the oldest three of the eight were dropped, and counted.
      assert.deepEqual(events.map((event) => event.payload), [3, 4, 5, 6, 7]);
      assert.equal(api.stats.dropped, 3);
    } finally {
      await back.cancel();
    }
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() unicast replay=true seeds a new group with the history", async () => {
  const api = createEventsApi({ heartbeatMs: 0 });
  const served = await api.serve();
  try {
    const token = await api.mintToken();
    await publishMany(served.url, token, "jobs.run", 4, 1);
    const snapshot = await openStream(
      served.url,
      token,
      "name=jobs.run&delivery=unicast&group=fresh&replay=true&follow=false",
    );
    const lines = await snapshot.rest();
    assert.deepEqual(lines.map((line) => JSON.parse(line).payload), [0, 1, 2, 3]);
    // The group's cursor moved: the same snapshot again is empty.
    const again = await openStream(
      served.url,
      token,
      "name=jobs.run&delivery=unicast&group=fresh&replay=true&follow=false",
    );
    assert.deepEqual(await again.rest(), []);
  } finally {
    await api.close();
  }
});

Deno.test("createEventsApi() unicast does not let a consumer that stopped reading hoard events", async () => {
  const api = createEventsApi({ heartbeatMs: 0, auth: false });
  try {
    const open = async (consumer: string) => {
      const response = await api.fetch(
        new Request(
          `http://x/api/v1/events/stream?name=jobs.run&delivery=unicast&consumer=${consumer}`,
        ),
      );
      return new LineReader(response.body);
    };
    const idle = await open("idle");
    const busy = await open("busy");
    try {
      for (let n = 0; n < 100; n++) {
        const response = await api.fetch(
          new Request("http://x/api/v1/events", {
            method: "POST",
            body: JSON.stringify({ name: "jobs.run", payload: n }),
          }),
        );
        await response.body?.cancel();
      }
      const events = await busy.take(90);
      assert.equal(events.length, 90);
      assert.ok(
        api.stats.delivered({ consumer: "idle" }) <= 2,
        `idle consumer took ${api.stats.delivered({ consumer: "idle" })}`,
      );
    } finally {
      await idle.cancel();
      await busy.cancel();
    }
  } finally {
    await api.close();
  }
});
