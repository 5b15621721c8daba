/**
 * The one polling helper of the tests: wait on real time for a condition
 * that another task (a server, a worker, a child process) makes true.
 * Timer logic under test uses fake time instead (`_fake_time.ts`).
 *
 * @module
 */

/**
 * Polls `condition` every 5 ms on real time until it holds.
 *
 * @param condition Checked at once, then after each poll interval.
 * @param timeout Milliseconds to wait at most.
 * @param what Named in the error when the wait times out.
 * @throws {Error} when `condition` still does not hold after `timeout` ms.
 */
export async function until(
  condition: () => boolean,
  timeout = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
