import assert from "node:assert/strict";
import { compose } from "../src/handling/compose.ts";
import type { HandlerContext } from "../src/handling/context.ts";
import type { HandlerMiddleware } from "../mod.ts";

const event = { name: "a.b", id: "1" };
/** The context fields compose() itself never reads. */
const context = { settlement: undefined } as unknown as HandlerContext;

Deno.test("compose() runs middlewares outermost first around the handler", async () => {
  const order: string[] = [];
  const step = (name: string): HandlerMiddleware => async (_event, _context, next) => {
    order.push(`${name} in`);
    await next();
    order.push(`${name} out`);
  };
  await compose([step("a"), step("b")], () => order.push("handler"))(event, context);
  assert.deepEqual(order, ["a in", "b in", "handler", "b out", "a out"]);
});

Deno.test("compose() lets an outer middleware see, replace or swallow the inner failure", async () => {
  const failure = new Error("inner");
  const seen: unknown[] = [];
  const observe: HandlerMiddleware = async (_event, _context, next) => {
    try {
      await next();
    } catch (error) {
      seen.push(error);
      throw error;
    }
  };
  const pipeline = compose([observe], () => {
    throw failure;
  });
  await assert.rejects(pipeline(event, context), (error) => error === failure);
  assert.deepEqual(seen, [failure]);

  const swallow: HandlerMiddleware = (_event, _context, next) => next().catch(() => {});
  await compose([swallow, observe], () => Promise.reject(failure))(event, context);
  assert.equal(seen.length, 2);
});

Deno.test("compose() skips the handler when a middleware does not call next()", async () => {
  let handled = false;
  const duplicate: HandlerMiddleware = () => Promise.resolve();
  await compose([duplicate], () => handled = true)(event, context);
  assert.equal(handled, false);
});

Deno.test("compose() rejects when a middleware calls next() twice", async () => {
  let handled = 0;
  const twice: HandlerMiddleware = async (_event, _context, next) => {
    await next();
    await next();
  };
  await assert.rejects(
    compose([twice], () => handled++)(event, context),
    /next\(\) was called twice/,
  );
  assert.equal(handled, 1, "the handler ran once");
});

Deno.test("compose() with no middlewares runs only the handler, passing event and context", async () => {
  const got: unknown[] = [];
  await compose([], (e, c) => got.push(e, c))(event, context);
  assert.deepEqual(got, [event, context]);
});

Deno.test("compose() resolves with undefined for sync, async and thenable handlers alike", async () => {
  const context = {} as HandlerContext;
  const event = { name: "job.run" };
  for (
    const handler of [() => 1, async () => await Promise.resolve(2), () => ({
      then: (ok: (v: number) => void) => ok(3),
    })]
  ) {
    assert.equal(await compose([], handler)(event, context), undefined);
  }
});

Deno.test("compose() rejects, never throws, when a step or the handler throws synchronously", async () => {
  const context = {} as HandlerContext;
  const event = { name: "job.run" };
  const throwing = () => {
    throw new Error("sync boom");
  };
  const fromHandler = compose([], throwing);
  const fromStep = compose([throwing as unknown as HandlerMiddleware], () => {});
  for (const pipeline of [fromHandler, fromStep]) {
    let result: Promise<void> | undefined;
    assert.doesNotThrow(() => result = pipeline(event, context));
    await assert.rejects(result!, /sync boom/);
  }
});

Deno.test("compose() lets a JavaScript middleware that returns nothing still yield a promise", async () => {
  const seen: string[] = [];
  const sloppy = ((_event: unknown, _context: unknown, next: () => Promise<void>) => {
    seen.push("step");
    void next();
  }) as unknown as HandlerMiddleware;
  await compose([sloppy], () => void seen.push("handler"))(
    { name: "job.run" },
    {} as HandlerContext,
  );
  assert.deepEqual(seen, ["step", "handler"]);
});
