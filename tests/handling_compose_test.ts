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
