/**
 * The handler timeout: each attempt gets at most so long, after which its
 * signal aborts and what it then throws fails the attempt as
 * {@linkcode HandlerTimeoutError}, retried per the policy like any failure.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { isTimerBound, linkAbort, MAX_TIMER_DELAY } from "../async.ts";
import type { EventEnvelope } from "../envelope.ts";
import { NonRetryableError, ResponseError } from "../errors.ts";
import type { Publisher, PublishInit } from "../publisher.ts";
import type { PublishResult } from "../transport.ts";
import type { HandlerMiddleware } from "./compose.ts";

/** The error code a request is answered with when its handler ran out of time. */
export const HANDLER_TIMEOUT = "handler_timeout";

/**
 * An attempt's handler did not finish within the `handlerTimeout`: its
 * signal (`publisher.signal`) aborted with this error, and what the
 * handler threw after that fails the attempt as this error (the thrown
 * error is its `cause`). It is retried per the `retry` policy; its error
 * response and dead letter carry the code {@linkcode HANDLER_TIMEOUT}.
 */
export class HandlerTimeoutError extends ResponseError {
  /** The bound that ran out, in ms. */
  readonly timeout: number;

  /** Creates the error for a bound of `timeout` ms; `cause` is what the handler then threw. */
  constructor(timeout: number, options?: ErrorOptions) {
    super(
      { code: HANDLER_TIMEOUT, message: `The handler did not finish within ${timeout} ms` },
      undefined,
      options,
    );
    this.name = "HandlerTimeoutError";
    this.timeout = timeout;
  }
}

/**
 * The `handlerTimeout` option checked: `undefined` (no bound) or a whole
 * number of ms from 1 to 2^31 − 1 (the longest a timer waits).
 *
 * @throws {RangeError} For anything else, naming the option after `where`.
 */
export function assertHandlerTimeout(value: unknown, where: string): void {
  if (value === undefined) return;
  if (!isTimerBound(value)) {
    throw new RangeError(
      `${where}: handlerTimeout is ${
        typeof value === "string" ? JSON.stringify(value) : String(value)
      }, expected a whole number of ms from 1 to ${MAX_TIMER_DELAY}`,
    );
  }
}

/**
 * The middleware that bounds each attempt by `timeout` ms. Everything inside
 * it (the caller's middlewares, the handler) gets a signal of the attempt's
 * own, aborted at the bound or when the worker's signal aborts, and a
 * publisher whose publishes carry that signal unless they name one, so a
 * reply stuck on a server that never answers ends at the bound too.
 *
 * A handler cannot be stopped from outside: one that ignores its signal runs
 * on and holds its slot until it returns. If it then returns, the attempt
 * succeeded (its work is done); if it throws, the attempt failed as
 * {@linkcode HandlerTimeoutError} (a `NonRetryableError` stays what it is). So `concurrency` stays a true bound on
 * running handlers.
 */
export function handlerTimeout(timeout: number): HandlerMiddleware {
  return async (_event, context, next) => {
    const outer = { signal: context.signal, publisher: context.publisher };
    const attempt = new AbortController();
    const unlink = linkAbort(outer.signal, attempt);
    const timer = setTimeout(() => attempt.abort(new HandlerTimeoutError(timeout)), timeout);
    context.signal = attempt.signal;
    context.publisher = new SignalledPublisher(outer.publisher, attempt.signal);
    try {
      await next();
    } catch (error) {
      const reason: unknown = attempt.signal.reason;
      // Timed out (not stopped by the worker): what it threw is the timeout,
      // unless it is the handler's own verdict that no retry can help.
      if (
        reason instanceof HandlerTimeoutError && error !== reason &&
        !(error instanceof NonRetryableError)
      ) {
        throw new HandlerTimeoutError(timeout, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      unlink();
      context.signal = outer.signal;
      context.publisher = outer.publisher;
    }
  };
}

/** A {@linkcode Publisher} whose publishes carry `signal` unless they name one. */
class SignalledPublisher implements Publisher {
  readonly #inner: Publisher;
  readonly signal: AbortSignal;

  constructor(inner: Publisher, signal: AbortSignal) {
    this.#inner = inner;
    this.signal = signal;
  }

  get event(): EventEnvelope {
    return this.#inner.event;
  }

  publish(name: string, payload: unknown, init?: PublishInit): Promise<PublishResult> {
    return this.#inner.publish(name, payload, this.#withSignal(init));
  }

  reply(payload: unknown, init?: PublishInit): Promise<PublishResult> {
    return this.#inner.reply(payload, this.#withSignal(init));
  }

  replyError(code: string, message: string, init?: PublishInit): Promise<PublishResult> {
    return this.#inner.replyError(code, message, this.#withSignal(init));
  }

  #withSignal(init: PublishInit | undefined): PublishInit {
    return init?.signal !== undefined ? init : { ...init, signal: this.signal };
  }
}
