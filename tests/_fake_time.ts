/**
 * Fake time for tests: `using time = fakeTime()` installs
 * `@sinonjs/fake-timers` over the global timers and `Date`, and restores
 * them when the block ends.
 *
 * @module
 */

import * as FakeTimers from "@sinonjs/fake-timers";

/** The installed sinon clock. */
export type Clock = ReturnType<typeof FakeTimers.install>;

/** A fake clock that uninstalls itself at the end of a `using` block. */
export interface FakeTime extends Disposable {
  /** The underlying sinon clock. */
  readonly clock: Clock;
  /** Fake milliseconds since the test started. */
  readonly elapsed: number;
}

/** Installs fake `setTimeout`/`setInterval`/`Date` (not `queueMicrotask`). */
export function fakeTime(): FakeTime {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    now: 1_000_000,
  });
  const start = clock.now;
  return {
    clock,
    get elapsed() {
      return clock.now - start;
    },
    [Symbol.dispose]() {
      clock.uninstall();
    },
  };
}

/** Lets pending promise callbacks run without moving the fake clock. */
export async function settle(clock: Clock): Promise<void> {
  await clock.tickAsync(0);
}
