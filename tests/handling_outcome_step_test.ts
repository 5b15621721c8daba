/**
 * Outcome steps in compose(): a run of them behaves as the nested
 * middlewares it stands for — hooks in order, the failure going on
 * outwards, a hook's own throw replacing it, a step handing an event to a
 * middleware around the steps inside it — and the time it starts at.
 */
import assert from "node:assert/strict";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import type { OutcomeStep } from "../src/handling/outcome_step.ts";
import type { HandlerMiddleware } from "../mod.ts";
import { fakeTime } from "./_fake_time.ts";

const event = { name: "a.b", id: "1" };
const contextOf = () => ({ settlement: undefined }) as unknown as HandlerContext;

/** A step that records each hook it runs in `order`. */
function recorded(name: string, order: string[], extra: Partial<OutcomeStep> = {}): OutcomeStep {
  return {
    started: () => void order.push(`${name} started`),
    succeeded: () => void order.push(`${name} succeeded`),
    failed: (error) => void order.push(`${name} failed ${(error as Error).message}`),
    ...extra,
  };
}

/** A middleware that pushes `<name> in` to `order` before the rest and `<name> out` after it. */
function recordedMiddleware(name: string, order: string[]): HandlerMiddleware {
  return async (_event, _context, next) => {
    order.push(`${name} in`);
    await next();
    order.push(`${name} out`);
  };
}

Deno.test("compose() runs adjacent outcome steps as nested middlewares: started outer first, outcomes inner first", async () => {
  const order: string[] = [];
  const middle = recordedMiddleware("middleware", order);
  const steps = [recorded("a", order), recorded("b", order), middle, recorded("c", order)];
  await compose(steps, () => void order.push("handler"))(event, contextOf());
  assert.deepEqual(order, [
    "a started",
    "b started",
    "middleware in",
    "c started",
    "handler",
    "c succeeded",
    "middleware out",
    "b succeeded",
    "a succeeded",
  ]);

  order.length = 0;
  const failure = new Error("boom");
  await assert.rejects(
    compose(steps, () => Promise.reject(failure))(event, contextOf()),
    (error) => error === failure,
    "the failure goes on outwards",
  );
  assert.deepEqual(order, [
    "a started",
    "b started",
    "middleware in",
    "c started",
    "c failed boom",
    "b failed boom",
    "a failed boom",
  ]);
});

Deno.test("compose() waits for an asynchronous failed() hook before the one outside it", async () => {
  const order: string[] = [];
  const slow: OutcomeStep = {
    failed: async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      order.push("inner done");
    },
  };
  const outer: OutcomeStep = { failed: () => void order.push("outer") };
  await assert.rejects(
    compose([outer, slow], () => Promise.reject(new Error("x")))(
      event,
      contextOf(),
    ),
  );
  assert.deepEqual(order, ["inner done", "outer"]);
});

Deno.test("compose() hands the steps outside a throwing failed() hook its error, as a rethrow would", async () => {
  const order: string[] = [];
  const replacement = new Error("replaced");
  const replacing: OutcomeStep = {
    failed: () => {
      throw replacement;
    },
  };
  await assert.rejects(
    compose([recorded("outer", order), replacing], () => Promise.reject(new Error("first")))(
      event,
      contextOf(),
    ),
    (error) => error === replacement,
  );
  assert.deepEqual(order, ["outer started", "outer failed replaced"]);
});

Deno.test("compose() lets a step hand one event to a middleware around the steps inside it", async () => {
  const order: string[] = [];
  const around = recordedMiddleware("around", order);
  const handing = (hand: boolean): OutcomeStep =>
    recorded("hands", order, { started: () => hand ? around : void order.push("hands started") });
  const run = (hand: boolean) =>
    compose(
      [recorded("outer", order), handing(hand), recorded("inner", order)],
      () => void order.push("handler"),
    )(event, contextOf());

  await run(true);
  assert.deepEqual(order, [
    "outer started",
    "around in",
    "inner started",
    "handler",
    "inner succeeded",
    "around out",
    "outer succeeded",
  ], "the handing step's own hooks do not run for that event");

  order.length = 0;
  await run(false);
  assert.deepEqual(order, [
    "outer started",
    "hands started",
    "inner started",
    "handler",
    "inner succeeded",
    "hands succeeded",
    "outer succeeded",
  ]);
});

Deno.test("compose() answers a middleware a step handed an event to without running the rest", async () => {
  let handled = false;
  const answered: HandlerMiddleware = () => Promise.resolve();
  const order: string[] = [];
  await compose(
    [recorded("outer", order), { started: () => answered }, recorded("inner", order)],
    () => void (handled = true),
  )(event, contextOf());
  assert.equal(handled, false);
  assert.deepEqual(order, ["outer started", "outer succeeded"]);
});

Deno.test("compose() rejects a handed-to middleware that calls next() twice", async () => {
  let handled = 0;
  const twice: HandlerMiddleware = async (_event, _context, next) => {
    await next();
    await next();
  };
  await assert.rejects(
    compose([{ started: () => twice }, { failed: () => {} }], () => void handled++)(
      event,
      contextOf(),
    ),
    /next\(\) was called twice/,
  );
  assert.equal(handled, 1);
});

Deno.test("compose() rejects when a handed-to middleware throws synchronously", async () => {
  const failure = new Error("sync");
  const seen: unknown[] = [];
  const throwing: HandlerMiddleware = () => {
    throw failure;
  };
  await assert.rejects(
    compose([{ failed: (error) => void seen.push(error) }, { started: () => throwing }], () => {})(
      event,
      contextOf(),
    ),
    (error) => error === failure,
  );
  assert.deepEqual(seen, [failure], "the steps outside it see the failure");
});

Deno.test("compose() gives timed steps the attempt's start, and none when the settlement was decided before", async () => {
  using time = fakeTime();
  const starts: Array<[string, number | undefined]> = [];
  const step = (name: string, timed: boolean): OutcomeStep => ({
    timed,
    succeeded: (_event, _context, at) => void starts.push([`${name} ok`, at]),
    failed: (_error, _event, _context, at) => void starts.push([name, at]),
  });
  const timed = step("timed", true);
  const other = step("other", false);
  const startedAt = time.clock.now;
  const pipeline = compose([other, timed], () => {
    time.clock.tick(250);
    throw new Error("late");
  });
  await assert.rejects(pipeline(event, contextOf()));
  assert.deepEqual(starts, [["timed", startedAt], ["other", startedAt]], "read once, at the start");

  starts.length = 0;
  await compose([timed], () => {})(event, contextOf());
  assert.deepEqual(starts, [["timed ok", startedAt + 250]], "succeeded() gets it too");

  starts.length = 0;
  const decided = { settlement: { type: "dead", reason: "given up" } } as unknown as HandlerContext;
  await assert.rejects(compose([timed], () => Promise.reject(new Error("x")))(event, decided));
  assert.deepEqual(starts, [["timed", undefined]]);

  starts.length = 0;
  await assert.rejects(compose([other], () => Promise.reject(new Error("x")))(event, contextOf()));
  assert.deepEqual(starts, [["other", undefined]], "no clock reading without a timed step");
});

Deno.test("compose() nests the middlewares of two steps that hand the same event over", async () => {
  const order: string[] = [];
  const around = (name: string): HandlerMiddleware => async (_event, _context, next) => {
    order.push(`${name} in`);
    await next();
    order.push(`${name} out`);
  };
  const handing = (name: string): OutcomeStep => ({ started: () => around(name) });
  const steps = [
    recorded("a", order),
    handing("x"),
    recorded("b", order),
    handing("y"),
    recorded("c", order),
  ];
  const pipeline = compose(steps, () => void order.push("handler"));
  for (let run = 0; run < 2; run++) {
    order.length = 0;
    await pipeline(event, contextOf());
    assert.deepEqual(order, [
      "a started",
      "x in",
      "b started",
      "y in",
      "c started",
      "handler",
      "c succeeded",
      "y out",
      "b succeeded",
      "x out",
      "a succeeded",
    ], `run ${run + 1} (the inner runs are made once, then reused)`);
  }
});
