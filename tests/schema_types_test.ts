/**
 * Type tests of typed events: `deno test` type-checks this file first, so
 * each `@ts-expect-error` fails the run if its line stops being an error,
 * and each `Equal` check fails it if an inferred type changes. The tests'
 * bodies only build registrations; the types are the test.
 */
import assert from "node:assert/strict";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import * as v from "valibot";
import { z } from "zod";
import {
  defineWorker,
  type EventEnvelope,
  type GatherResult,
  Host,
  type Publisher,
  Requester,
  runWorker,
  type StandardSchema,
  type TypedGatherResult,
  type WorkerHandler,
  type WorkerRegistration,
} from "../mod.ts";
import { testWorker } from "../testing.ts";
import { MemoryTransport } from "./_memory_transport.ts";

/** `true` only when `A` and `B` are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
/** Compiles only for `true`. */
function expectType<_T extends true>(): void {}

const zodOrder = z.object({
  sku: z.string(),
  quantity: z.number(),
  currency: z.enum(["EUR", "USD"]).default("EUR"),
});
const zodQuote = z.object({ total: z.number(), note: z.string().default("") });
const valibotOrder = v.object({
  sku: v.string(),
  quantity: v.number(),
  currency: v.optional(v.picklist(["EUR", "USD"]), "EUR"),
});
const valibotQuote = v.object({ total: v.number(), note: v.optional(v.string(), "") });

type Order = { sku: string; quantity: number; currency: "EUR" | "USD" };

Deno.test("StandardSchema is interchangeable with @standard-schema/spec's StandardSchemaV1", () => {
  const toOurs = (schema: StandardSchemaV1): StandardSchema => schema;
  const toSpec = (schema: StandardSchema): StandardSchemaV1 => schema;
  const zodAsOurs: StandardSchema<unknown, Order> = zodOrder;
  const valibotAsOurs: StandardSchema<unknown, Order> = valibotOrder;
  // @ts-expect-error a schema of orders is not a schema of numbers
  const wrong: StandardSchema<unknown, number> = zodOrder;
  assert.equal(toSpec(toOurs(zodAsOurs)), zodOrder);
  assert.equal(toSpec(toOurs(valibotAsOurs)), valibotOrder);
  assert.ok(wrong);
});

Deno.test("defineWorker() infers payload and reply types from zod schemas", () => {
  const registration = defineWorker({
    name: "zod-quotes",
    names: ["types.quote.request"],
    schema: { payload: zodOrder, reply: zodQuote },
    handler: async (event, publisher) => {
      // The output type: the default makes `currency` present.
      expectType<Equal<typeof event.payload, Order>>();
      expectType<Equal<typeof event.name, string>>();
      // @ts-expect-error quantity is a number
      const quantity: string = event.payload.quantity;
      // @ts-expect-error no such field
      event.payload.price;
      // The input type: `note` has a default, so it may be left out.
      await publisher.reply({ total: 1 });
      // @ts-expect-error total is a number
      await publisher.reply({ total: "1" });
      // @ts-expect-error total is required
      await publisher.reply({ note: "free" });
      return quantity;
    },
  });
  assert.equal(typeof registration.handler, "function");
});

Deno.test("defineWorker() infers payload and reply types from valibot schemas", () => {
  const registration = defineWorker({
    name: "valibot-quotes",
    names: ["types.quote.request"],
    schema: { payload: valibotOrder, reply: valibotQuote },
    handler: async (event, publisher) => {
      expectType<Equal<typeof event.payload, Order>>();
      // @ts-expect-error sku is a string
      const sku: number = event.payload.sku;
      await publisher.reply({ total: sku });
      // @ts-expect-error total is a number
      await publisher.reply({ total: "1" });
    },
  });
  assert.equal(typeof registration.handler, "function");
});

Deno.test("defineWorker() types only what a schema is given for", () => {
  const payloadOnly = defineWorker({
    name: "payload-only",
    names: ["types.a"],
    schema: { payload: zodOrder },
    handler: (event, publisher) => {
      expectType<Equal<typeof event.payload, Order>>();
      expectType<Equal<Parameters<typeof publisher.reply>[0], unknown>>();
    },
  });
  const replyOnly = defineWorker({
    name: "reply-only",
    names: ["types.a"],
    schema: { reply: valibotQuote },
    handler: (event, publisher) => {
      expectType<Equal<typeof event, EventEnvelope>>();
      return publisher.reply({ total: 2 });
    },
  });
  assert.equal(typeof payloadOnly.handler, typeof replyOnly.handler);
});

Deno.test("defineWorker() and runWorker() without a schema keep the untyped handler", () => {
  expectType<
    Equal<WorkerHandler, (event: EventEnvelope, publisher: Publisher) => unknown>
  >();
  const registration = defineWorker({
    name: "untyped",
    names: ["types.a"],
    handler: (event, publisher) => {
      expectType<Equal<typeof event, EventEnvelope>>();
      expectType<Equal<typeof event.payload, unknown>>();
      // @ts-expect-error unknown until checked
      event.payload.sku;
      return publisher.reply(event.payload);
    },
  });
  const controller = new AbortController();
  controller.abort();
  const untyped = runWorker({
    transport: new MemoryTransport(),
    names: ["types.a"],
    signal: controller.signal,
    handler: (event) => {
      expectType<Equal<typeof event, EventEnvelope>>();
    },
  });
  assert.equal(typeof registration.handler, "function");
  return untyped;
});

Deno.test("runWorker() infers payload and reply types from its schema", async () => {
  const controller = new AbortController();
  controller.abort();
  await runWorker({
    transport: new MemoryTransport(),
    names: ["types.quote.request"],
    signal: controller.signal,
    schema: { payload: valibotOrder, reply: zodQuote },
    handler: async (event, publisher) => {
      expectType<Equal<typeof event.payload, Order>>();
      // @ts-expect-error currency is "EUR" | "USD"
      const currency: "GBP" = event.payload.currency;
      // @ts-expect-error note is a string
      await publisher.reply({ total: 1, note: 2 });
      return currency;
    },
  });
});

Deno.test("defineWorker() refuses a schema that is not a Standard Schema, or one on run()", () => {
  assert.throws(() =>
    defineWorker({
      name: "not-a-schema",
      names: ["types.a"],
      // @ts-expect-error a parse() method is not the Standard Schema interface
      schema: { payload: { parse: (value: unknown) => value } },
      handler: () => {},
    }), TypeError);
  assert.throws(
    () =>
      // @ts-expect-error a schema types a handler, not run()
      defineWorker({ name: "run-with-schema", schema: { payload: zodOrder }, run: () => {} }),
    TypeError,
  );
});

Deno.test("a typed registration is a WorkerRegistration, so a Host takes it", () => {
  const typed = defineWorker({
    name: "typed",
    names: ["types.quote.request"],
    schema: { payload: zodOrder, reply: zodQuote },
    handler: (event, publisher) => publisher.reply({ total: event.payload.quantity }),
  });
  const registrations: WorkerRegistration[] = [typed];
  const host = new Host({ transport: new MemoryTransport(), registrations });
  assert.ok(host);
});

Deno.test("Requester.request() and gather() resolve with the schema's output type", () => {
  const requester = new Requester({
    transport: new MemoryTransport(),
    responseNames: ["types.quote.response"],
  });
  const typed = () => requester.request("types.quote.request", {}, { schema: zodQuote });
  expectType<Equal<Awaited<ReturnType<typeof typed>>, { total: number; note: string }>>();
  const valibotTyped = () => requester.request("types.quote.request", {}, { schema: valibotOrder });
  expectType<Equal<Awaited<ReturnType<typeof valibotTyped>>, Order>>();
  const untyped = () => requester.request("types.quote.request", {}, { timeout: 10 });
  expectType<Equal<Awaited<ReturnType<typeof untyped>>, unknown>>();
  const wrong = async () => {
    // @ts-expect-error total is a number
    const total: string = (await typed()).total;
    return total;
  };
  const gathered = () => requester.gather("types.quote.request", {}, { schema: zodQuote });
  expectType<
    Equal<Awaited<ReturnType<typeof gathered>>, TypedGatherResult<{ total: number; note: string }>>
  >();
  const untypedGather = () => requester.gather("types.quote.request", {});
  expectType<Equal<Awaited<ReturnType<typeof untypedGather>>, GatherResult>>();
  const totals = async () => {
    const { responses } = await gathered();
    return responses.map((response) => {
      if (response.error !== undefined) return response.error.code;
      expectType<Equal<typeof response.payload, { total: number; note: string }>>();
      return response.payload.total;
    });
  };
  assert.equal(typeof wrong, typeof totals);
  return requester.close();
});

Deno.test("testWorker()'s request() takes a schema too", () => {
  const harnessRequest = async () => {
    await using worker = await testWorker(defineWorker({
      name: "typed",
      names: ["types.quote.request"],
      handler: () => {},
    }));
    return await worker.request("types.quote.request", {}, { schema: valibotQuote });
  };
  expectType<
    Equal<Awaited<ReturnType<typeof harnessRequest>>, { total: number; note: string }>
  >();
  assert.equal(typeof harnessRequest, "function");
});
