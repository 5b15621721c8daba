/**
 * Typed events with zod: a worker whose `schema` types and checks each
 * payload and each reply, and a requester whose `schema` types and checks
 * the response. No annotation anywhere: the types come from the schemas.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env examples/typed_zod.ts
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console -- printing is what an example does
import { EventsClient, ListenerReadiness, Requester, ResponseError, runWorker } from "../mod.ts"; // "@bus/integration"
import { createEventsApi } from "../testing.ts"; // "@bus/integration/testing"
import { z } from "zod";

const Order = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
  // A default: the handler always sees a currency.
  currency: z.enum(["EUR", "USD"]).default("EUR"),
});
const Quote = z.object({ sku: z.string(), total: z.number().nonnegative() });
const PRICES: Record<string, number> = { "tea-100g": 4.5 };

const api = createEventsApi();
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url, token: await api.mintToken() });
const stop = new AbortController();
const ready = new ListenerReadiness();

const worker = runWorker({
  transport: client,
  names: ["example.quote.request"],
  delivery: "unicast",
  group: "quotes",
  readiness: ready,
  signal: stop.signal,
  schema: { payload: Order, reply: Quote },
  handler: async (event, publisher) => {
    // event.payload: { sku: string; quantity: number; currency: "EUR" | "USD" }
    const { sku, quantity, currency } = event.payload;
    const price = PRICES[sku];
    if (price === undefined) return publisher.replyError("unknown_sku", `no price for ${sku}`);
    // reply() takes { sku: string; total: number }; a negative total is not published.
    await publisher.reply({ sku, total: price * quantity * (currency === "USD" ? 1.1 : 1) });
  },
});

const requester = new Requester({
  transport: client,
  responseNames: ["example.quote.response"],
  timeout: 5_000,
  signal: stop.signal,
});
await Promise.all([ready.waitReady(), requester.readiness.waitReady()]);

// quote: { sku: string; total: number }
const quote = await requester.request("example.quote.request", { sku: "tea-100g", quantity: 2 }, {
  schema: Quote,
});
console.log("quote:", quote.sku, quote.total.toFixed(2));
try {
  await requester.request("example.quote.request", { sku: "tea-100g", quantity: -1 });
} catch (error) {
  if (!(error instanceof ResponseError)) throw error;
  console.log("error response:", error.code, error.message);
}

await requester.close();
stop.abort();
await worker;
await api.close();
