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
    AbortSignal.timeout = (ms: number) => {
      const controller = new AbortController();
      setTimeout(
        () => controller.abort(new DOMException("The operation timed out.", "TimeoutError")),
        ms,
      );
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
