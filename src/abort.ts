/**
 * Linking a caller's long-lived signal to a short-lived controller without
 * `AbortSignal.any()`, which leaks one entry per call on Node and Deno.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Aborts `controller` with `signal.reason` when `signal` aborts (at once if it
 * already has). Returns the function that removes the link; call it when the
 * short-lived work settles so the long-lived signal keeps no listener.
 */
export function linkAbort(
  signal: AbortSignal | undefined,
  controller: AbortController,
): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
