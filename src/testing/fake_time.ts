/**
 * `FakeTime`: fake `Date`, timers and `AbortSignal.timeout()` for tests of
 * code built on this library, in the shape of Deno std's `FakeTime`
 * (`using time = new FakeTime()`, `tick`, `tickAsync`, `next`,
 * `runAllAsync`, `restore`), on `@sinonjs/fake-timers`.
 *
 * `@sinonjs/fake-timers` does not fake `AbortSignal.timeout()`
 * (sinonjs/fake-timers#521); this class does, with a signal aborted by a
 * fake timer, so a request timeout built on it moves with the fake clock.
 *
 * @module
 */

import * as FakeTimers from "@sinonjs/fake-timers";

type Clock = ReturnType<typeof FakeTimers.install>;

/** Thrown when time is faked twice, or restored when it is not faked. */
export class TimeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TimeError";
  }
}

let installed: FakeTime | undefined;

/** Longest delay a timer takes as it is (2^31 - 1 ms); longer ones fire after 1 ms. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** What the real `AbortSignal.timeout` starts its messages with (Deno's, after WebIDL). */
const TIMEOUT_ERROR_PREFIX = "Failed to execute 'AbortSignal.timeout': Argument 1";

/**
 * `ms` converted as the real `AbortSignal.timeout()` converts its argument
 * (WebIDL `[EnforceRange] unsigned long long`): to a number, truncated,
 * and refused with a `TypeError` when it is not finite or lies outside
 * 0 to 2^53 - 1, as Deno (and the spec) do.
 */
function timeoutDelay(ms: unknown): number {
  // Unary plus is ToNumber: strings and null convert, BigInt and Symbol throw a TypeError.
  const value = +(ms as number);
  if (!Number.isFinite(value)) {
    throw new TypeError(`${TIMEOUT_ERROR_PREFIX} is not a finite number`);
  }
  const whole = Math.trunc(value);
  if (whole < 0 || whole > Number.MAX_SAFE_INTEGER) {
    throw new TypeError(
      `${TIMEOUT_ERROR_PREFIX} is outside the accepted range of 0 to ${Number.MAX_SAFE_INTEGER}, inclusive`,
    );
  }
  // -0.5 truncates to -0, which is 0 here.
  return whole + 0;
}

/**
 * Replaces the global `Date`, `setTimeout`, `clearTimeout`, `setInterval`,
 * `clearInterval` and `AbortSignal.timeout` with fakes driven by this
 * object until {@linkcode FakeTime.restore} (or the end of a `using`
 * block). Promise callbacks (microtasks) stay real: the `*Async` methods let
 * them run between timers, so `await`-based code progresses as it would.
 *
 * @example A 60 s request timeout in no wall time
 * ```ts
 * import { FakeTime } from "@bus/integration/testing";
 *
 * using time = new FakeTime();
 * let timedOut = false;
 * AbortSignal.timeout(60_000).addEventListener("abort", () => timedOut = true);
 * await time.tickAsync(59_999);
 * console.log(timedOut); // false
 * await time.tickAsync(1);
 * console.log(timedOut); // true
 * ```
 */
export class FakeTime implements Disposable {
  readonly #clock: Clock;
  readonly #start: number;
  readonly #realTimeout: typeof AbortSignal.timeout;

  /**
   * Starts faking time at `start` (a date, its string, or epoch ms).
   *
   * @param start When the fake clock starts. @default {Date.now()}
   * @throws {TimeError} When time is already faked.
   */
  constructor(start?: number | string | Date) {
    if (installed !== undefined) throw new TimeError("Cannot fake time: time is already faked");
    const now = start === undefined ? Date.now() : new Date(start).getTime();
    if (Number.isNaN(now)) {
      throw new RangeError(`Cannot fake time: start ${JSON.stringify(start)} is not a date`);
    }
    this.#clock = FakeTimers.install({
      now,
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });
    this.#start = now;
    this.#realTimeout = AbortSignal.timeout;
    const clock = this.#clock;
    AbortSignal.timeout = (ms: number) => {
      const delay = timeoutDelay(ms);
      const deadline = clock.now + delay;
      const controller = new AbortController();
      // A timer clamps delays past MAX_TIMER_DELAY to 1 ms; the real
      // AbortSignal.timeout takes up to 2^53 - 1 ms, so long waits re-arm
      // in steps until the deadline.
      const arm = () => {
        const left = deadline - clock.now;
        if (left <= 0) {
          controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
        } else {
          clock.setTimeout(arm, Math.min(left, MAX_TIMER_DELAY));
        }
      };
      clock.setTimeout(arm, Math.min(delay, MAX_TIMER_DELAY));
      return controller.signal;
    };
    installed = this;
  }

  /** The fake time in epoch milliseconds; setting it forward runs the timers due. */
  get now(): number {
    return this.#clock.now;
  }

  set now(value: number) {
    if (value < this.#clock.now) {
      throw new RangeError("Cannot set the fake time backwards: time only moves forward");
    }
    this.#clock.tick(value - this.#clock.now);
  }

  /** When the fake clock started, in epoch milliseconds. */
  get start(): number {
    return this.#start;
  }

  /** Fake timers that are scheduled and have not run. */
  get pending(): number {
    return this.#clock.countTimers();
  }

  /** Moves time forward by `ms`, running the timers due, without letting promises settle between them. */
  tick(ms?: number): void {
    this.#clock.tick(ms ?? 0);
  }

  /** Moves time forward by `ms`, letting promise callbacks run before and after each timer. */
  async tickAsync(ms?: number): Promise<void> {
    await this.#clock.tickAsync(ms ?? 0);
  }

  /** Runs the next timer (moving time to it); `false` when none is scheduled. */
  next(): boolean {
    if (this.#clock.countTimers() === 0) return false;
    this.#clock.next();
    return true;
  }

  /** {@linkcode FakeTime.next}, letting promise callbacks run around it. */
  async nextAsync(): Promise<boolean> {
    await this.#clock.tickAsync(0);
    if (this.#clock.countTimers() === 0) return false;
    await this.#clock.nextAsync();
    return true;
  }

  /** Runs timers until none is left (timers that reschedule forever throw after 1,000 loops). */
  runAll(): void {
    this.#clock.runAll();
  }

  /** {@linkcode FakeTime.runAll}, letting promise callbacks run between timers. */
  async runAllAsync(): Promise<void> {
    await this.#clock.runAllAsync();
  }

  /**
   * Puts the real `Date`, timers and `AbortSignal.timeout` back.
   *
   * @throws {TimeError} When this object no longer fakes time.
   */
  restore(): void {
    if (installed !== this) throw new TimeError("Cannot restore time: this FakeTime is not active");
    this.#clock.uninstall();
    AbortSignal.timeout = this.#realTimeout;
    installed = undefined;
  }

  /** Restores real time at the end of a `using` block. */
  [Symbol.dispose](): void {
    if (installed === this) this.restore();
  }
}
