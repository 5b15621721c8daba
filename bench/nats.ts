/**
 * The NATS JetStream transport against raw nats.js doing the same work on
 * the same connection in the same run:
 *
 * - request/reply round trips per second at 1 and 128 in flight: a
 *   `Requester` and a unicast `runWorker()` echo, against a hand-rolled
 *   JetStream publish, a durable pull consumer that publishes the reply and
 *   acks, and an ordered consumer that routes replies by correlation id;
 * - the same at 128 in flight on the transport's seam alone (publish, open,
 *   settle by hand), to tell the transport's cost from its callers';
 * - unicast worker throughput: `runWorker()` (consume + handler + reply +
 *   ack) over a backlog of requests, against a raw consume / publish / ack
 *   loop over the same kind of backlog.
 *
 * Each pair runs `ROUNDS` times, library and raw alternating; the figure is
 * the median ratio (and the best run against the best run). Starts its own
 * `nats-server` unless `NATS_URL` is set. Runs on Deno (`deno task
 * bench:nats`), and on Node and Bun from the npm build
 * (`bash bench/run_nats.sh`).
 *
 * Usage: `<runtime> nats.{ts,js} [round trips per level] [rounds]`
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { ListenerReadiness, Requester, runWorker } from "@bus/integration";
import { connectNats, type NatsTransport } from "@bus/integration/nats";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import process from "node:process";
import { type NatsServer, startNatsServer } from "../tests/_nats_server.ts";

const versions = process.versions as Record<string, string | undefined>;
const runtime = versions.deno
  ? `deno ${versions.deno}`
  : versions.bun
  ? `bun ${versions.bun}`
  : `node ${versions.node}`;
const perLevel = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 5);
const CONCURRENCY = 128;

let server: NatsServer | undefined;
const url = process.env.NATS_URL ?? (server = await startNatsServer()).url;
const transport: NatsTransport = await connectNats({
  servers: url,
  stream: "BENCH",
  subjectPrefix: "bench",
});
const nc = transport.connection;
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
// The library creates the stream on its first publish; raw work uses it too.
await transport.publish({ name: "bench.warmup" });
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let run = 0;

/** Runs `count` round trips with `inFlight` at once; resolves with round trips per second. */
async function drive(roundTrip: (n: number) => Promise<void>, count: number, inFlight: number) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await roundTrip(next++);
  }));
  return count / ((performance.now() - started) / 1000);
}

/** The subject of a bench event name, as the library maps it. */
const subject = (name: string) => `bench.${name}`;

/** A JSON envelope, the same shape the library publishes. */
function envelope(name: string, fields: Record<string, unknown>): Uint8Array {
  return encoder.encode(
    JSON.stringify({ name, version: "v1", timestamp: new Date().toISOString(), ...fields }),
  );
}

// ---- raw nats.js -------------------------------------------------------------

/** A durable pull consumer on `name` for raw work, created fresh. */
async function rawConsumer(name: string, deliver: DeliverPolicy) {
  const durable = `raw_${name.replaceAll(".", "_")}`;
  await jsm.consumers.delete("BENCH", durable).catch(() => {});
  await jsm.consumers.add("BENCH", {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000_000_000,
    max_deliver: 5,
    filter_subject: subject(name),
    deliver_policy: deliver,
  });
  return await js.consumers.get("BENCH", durable);
}

/** Echoes each request on `name` as its response, then acks: what the worker does. */
async function rawEcho(name: string, responseName: string, signal: AbortSignal) {
  const consumer = await rawConsumer(name, DeliverPolicy.New);
  const messages = await consumer.consume({ max_messages: CONCURRENCY });
  signal.addEventListener("abort", () => messages.stop(), { once: true });
  const reply = async (message: JsMsg) => {
    const request = JSON.parse(decoder.decode(message.data));
    await js.publish(
      subject(responseName),
      envelope(responseName, { correlationId: request.correlationId, payload: request.payload }),
    );
    await message.ackAck();
  };
  (async () => {
    for await (const message of messages) reply(message).catch(() => {});
  })();
}

async function rawRequestReply(count: number, inFlight: number) {
  const stop = new AbortController();
  const name = `raw${++run}.request`;
  const responseName = `raw${run}.response`;
  await rawEcho(name, responseName, stop.signal);
  const last = (await jsm.streams.info("BENCH")).state.last_seq;
  const responses = await js.consumers.get("BENCH", {
    filter_subjects: subject(responseName),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: last + 1,
  });
  const messages = await responses.consume({ max_messages: 256 });
  const waiting = new Map<string, () => void>();
  (async () => {
    for await (const message of messages) {
      const response = JSON.parse(decoder.decode(message.data));
      waiting.get(response.correlationId)?.();
      waiting.delete(response.correlationId);
    }
  })();
  const perSecond = await drive(
    async (n) => {
      const correlationId = crypto.randomUUID();
      const answered = new Promise<void>((resolve) => waiting.set(correlationId, resolve));
      await js.publish(subject(name), envelope(name, { correlationId, payload: n }));
      await answered;
    },
    count,
    inFlight,
  );
  stop.abort();
  messages.stop();
  await responses.delete().catch(() => {});
  return perSecond;
}

/** Publishes `count` requests on `name` and resolves once JetStream stored all of them. */
async function backlog(name: string, count: number) {
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) =>
      js.publish(
        subject(name),
        envelope(name, { correlationId: crypto.randomUUID(), payload: i + j }),
      )));
  }
}

async function rawWorker(count: number) {
  const name = `rawwork${++run}.request`;
  const consumer = await rawConsumer(name, DeliverPolicy.All);
  await backlog(name, count);
  const started = performance.now();
  const messages = await consumer.consume({ max_messages: CONCURRENCY });
  let done = 0;
  let inFlight = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => finished = resolve);
  const handle = async (message: JsMsg) => {
    const request = JSON.parse(decoder.decode(message.data));
    await js.publish(
      subject(`rawwork${run}.response`),
      envelope(`rawwork${run}.response`, {
        correlationId: request.correlationId,
        payload: request.payload,
      }),
    );
    await message.ackAck();
    inFlight--;
    if (++done === count) finished();
  };
  (async () => {
    for await (const message of messages) {
      inFlight++;
      handle(message).catch(() => {});
      // The same bound as the worker's slots.
      while (inFlight >= CONCURRENCY) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();
  await allDone;
  const perSecond = count / ((performance.now() - started) / 1000);
  messages.stop();
  return perSecond;
}

// ---- the library ---------------------------------------------------------------

async function libraryRequestReply(count: number, inFlight: number) {
  const stop = new AbortController();
  const name = `lib${++run}.request`;
  const ready = new ListenerReadiness();
  const worker = runWorker({
    transport,
    names: [name],
    delivery: "unicast",
    group: "lib",
    concurrency: CONCURRENCY,
    readiness: ready,
    signal: stop.signal,
    handler: (event, publisher) => publisher.reply(event.payload),
  });
  const requester = new Requester({
    transport,
    responseNames: [`lib${run}.response`],
    signal: stop.signal,
  });
  await ready.waitReady();
  await requester.readiness.waitReady();
  const perSecond = await drive(
    async (n) => void await requester.request(name, n),
    count,
    inFlight,
  );
  await requester.close();
  stop.abort();
  await worker;
  return perSecond;
}

/**
 * Request/reply on the transport's seam alone — `publish()`, `open()`,
 * `settle()` by hand, no `Requester` or `runWorker()` — to tell the
 * transport's own cost from that of the layers above it.
 */
async function seamRequestReply(count: number, inFlight: number) {
  const name = `seam${++run}.request`;
  const responseName = `seam${run}.response`;
  const requests = await transport.open({
    name,
    delivery: "unicast",
    group: "seam",
    concurrency: CONCURRENCY,
  });
  (async () => {
    for await (const request of requests) {
      transport.publish({
        name: responseName,
        correlationId: request.correlationId,
        payload: request.payload,
      }).then(() => requests.settle(request, { type: "done" })).catch(() => {});
    }
  })();
  const responses = await transport.open({ name: responseName });
  const waiting = new Map<string, () => void>();
  (async () => {
    for await (const response of responses) {
      waiting.get(response.correlationId!)?.();
      waiting.delete(response.correlationId!);
      responses.settle(response, { type: "done" });
    }
  })();
  const perSecond = await drive(
    async (n) => {
      const correlationId = crypto.randomUUID();
      const answered = new Promise<void>((resolve) => waiting.set(correlationId, resolve));
      await transport.publish({ name, correlationId, payload: n });
      await answered;
    },
    count,
    inFlight,
  );
  await Promise.all([requests.close(), responses.close()]);
  return perSecond;
}

async function libraryWorker(count: number) {
  const name = `libwork${++run}.request`;
  // The group's consumer exists before the backlog, as the raw one does.
  const created = await transport.open({ name, delivery: "unicast", group: "libwork" });
  await created.close();
  await backlog(name, count);
  const stop = new AbortController();
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => finished = resolve);
  const started = performance.now();
  const worker = runWorker({
    transport,
    names: [name],
    delivery: "unicast",
    group: "libwork",
    concurrency: CONCURRENCY,
    signal: stop.signal,
    handler: async (event, publisher) => {
      await publisher.reply(event.payload);
    },
    middlewares: [async (_event, _context, next) => {
      await next();
      // Counted once the pipeline is through; the ack follows in the settle.
      if (++done === count) finished();
    }],
  });
  await allDone;
  const perSecond = count / ((performance.now() - started) / 1000);
  stop.abort();
  await worker;
  return perSecond;
}

// ---- run -----------------------------------------------------------------------

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Runs library and raw `rounds` times, alternating; prints their medians and ratios. */
async function compare(label: string, library: () => Promise<number>, raw: () => Promise<number>) {
  const lib: number[] = [];
  const floor: number[] = [];
  for (let round = 0; round < rounds; round++) {
    floor.push(await raw());
    lib.push(await library());
  }
  const ratios = lib.map((value, index) => value / floor[index]!);
  console.log(
    `  ${label.padEnd(28)} raw ${median(floor).toFixed(0).padStart(6)}/s  library ${
      median(lib).toFixed(0).padStart(6)
    }/s  ×${median(ratios).toFixed(2)} (best ×${
      (Math.max(...lib) / Math.max(...floor)).toFixed(2)
    })`,
  );
}

await rawRequestReply(300, 16); // warm up both paths
await libraryRequestReply(300, 16);
console.log(
  `${runtime}, nats-server ${nc.info?.version}, ${rounds} rounds (library / raw nats.js):`,
);
await compare(
  "request/reply, 1 in flight",
  () => libraryRequestReply(Math.min(perLevel, 1000), 1),
  () => rawRequestReply(Math.min(perLevel, 1000), 1),
);
await compare(
  `request/reply, ${CONCURRENCY} in flight`,
  () => libraryRequestReply(perLevel, CONCURRENCY),
  () => rawRequestReply(perLevel, CONCURRENCY),
);
await compare(
  `seam only, ${CONCURRENCY} in flight`,
  () => seamRequestReply(perLevel, CONCURRENCY),
  () => rawRequestReply(perLevel, CONCURRENCY),
);
await compare(
  `unicast worker, ${CONCURRENCY} slots`,
  () => libraryWorker(perLevel),
  () => rawWorker(perLevel),
);
await transport.close();
if (server) await server[Symbol.asyncDispose]();
