/**
 * What a payload schema costs per event, against the same pipeline step
 * without one, in the same run: 10,000 events through the worker's
 * innermost pipeline step in process (no I/O), so the step's own cost
 * shows — no schema (baseline), a trivial synchronous schema (the fast
 * path: no `await`), the same schema answering with a promise (awaited),
 * zod and valibot. Over a transport, bench/worker_bench.ts measures the
 * whole worker.
 *
 * Run: deno bench -A bench/schema_bench.ts
 */
import * as v from "valibot";
import { z } from "zod";
import type { StandardSchema } from "../mod.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import { compose } from "../src/handling/compose.ts";
import { validatedHandler } from "../src/handling/validate.ts";
import type { Publisher } from "../src/publisher.ts";

const PAYLOAD = { host: "runner-7", script: "uptime", args: ["-p"], attempt: 1 };
const zodPayload = z.object({
  host: z.string(),
  script: z.string(),
  args: z.array(z.string()),
  attempt: z.number(),
});
const valibotPayload = v.object({
  host: v.string(),
  script: v.string(),
  args: v.array(v.string()),
  attempt: v.number(),
});
/** Accepts anything: what is left is the step's own cost. */
const passSync: StandardSchema = {
  "~standard": { version: 1, vendor: "bench", validate: (value) => ({ value }) },
};
const passAsync: StandardSchema = {
  "~standard": { version: 1, vendor: "bench", validate: (value) => Promise.resolve({ value }) },
};

const STEP_EVENTS = 10_000;
const context = { publisher: {} as Publisher, settlement: undefined } as HandlerContext;
const event = { name: "bench.work", id: "1", payload: PAYLOAD };

/** Runs `STEP_EVENTS` events one after another through a pipeline around the step. */
function pipelineOf(payload: StandardSchema | undefined) {
  let handled = 0;
  const run = compose([], validatedHandler(payload && { payload }, () => handled++));
  return async () => {
    for (let i = 0; i < STEP_EVENTS; i++) await run(event, context);
    if (handled < STEP_EVENTS) throw new Error(`handled ${handled}`);
  };
}

const step = { group: "pipeline", n: 50, warmup: 10 } as const;
Deno.bench("pipeline step, no schema", { ...step, baseline: true }, pipelineOf(undefined));
Deno.bench("pipeline step, sync schema (fast path)", step, pipelineOf(passSync));
Deno.bench("pipeline step, async schema (awaited)", step, pipelineOf(passAsync));
Deno.bench("pipeline step, zod", step, pipelineOf(zodPayload));
Deno.bench("pipeline step, valibot", step, pipelineOf(valibotPayload));
