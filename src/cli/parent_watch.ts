/**
 * Notices that the process which started this one has died, so that a
 * long-running command (`host`, `dev-server`) stops instead of living on as
 * an orphan. `npx bus-integration host` is the case that needs it: SIGTERM
 * ends `npm exec` at once without passing the signal on, and the host under
 * it would keep taking its unicast group's events, undrained, forever.
 *
 * How: the parent's process id is polled. A POSIX process whose parent dies
 * is re-parented to init or the nearest subreaper, so its parent id changes,
 * and it changes for no other reason; Deno, Node and Bun all read
 * `process.ppid` afresh on each access. Standard input's end of file was the
 * other candidate, but it only works when the parent hands over a pipe it
 * keeps open: a terminal, `/dev/null` (systemd, Docker) or a closed pipe
 * would read as a death at once or never.
 *
 * {@linkcode onStopRequests} joins the parent's death to SIGINT and SIGTERM:
 * the first of them starts a graceful stop, a signal after it ends the
 * process at once.
 *
 * @module
 */

import { onShutdownSignal, parentPidReader, type ShutdownSignal } from "./process.ts";

/** How often the parent id is read, in milliseconds. */
export const PARENT_POLL_MS = 1_000;

/** What {@linkcode watchParent} reports once the parent is gone. */
export interface ParentGone {
  /** The parent's id when the watch started. */
  readonly was: number;
  /** The id read now: init's or a subreaper's. */
  readonly now: number;
}

/** Options of {@linkcode watchParent}. */
export interface ParentWatchOptions {
  /** Reads the current parent id (`parentPidReader()` in `process.ts`). */
  readParentPid: () => number;
  /** Called once, on the first poll that reads another parent id. */
  onGone: (gone: ParentGone) => void;
  /**
   * Milliseconds between reads.
   *
   * @default {1000}
   */
  intervalMs?: number;
}

/**
 * Polls the parent id and calls `onGone` once when it changes. A process
 * whose parent is already init (id 1) or that is itself init (parent id 0,
 * as PID 1 in a container) has no parent to outlive, so nothing is polled.
 *
 * @returns The function that stops watching.
 * @throws {RangeError} When `intervalMs` is not a positive number.
 */
export function watchParent(options: ParentWatchOptions): () => void {
  const intervalMs = options.intervalMs ?? PARENT_POLL_MS;
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
    throw new RangeError(`Cannot watch the parent: intervalMs is ${intervalMs}, expected > 0`);
  }
  const was = options.readParentPid();
  if (was <= 1) return () => {};
  const timer = setInterval(() => {
    const now = options.readParentPid();
    if (now === was) return;
    clearInterval(timer);
    options.onGone({ was, now });
  }, intervalMs);
  return () => clearInterval(timer);
}

/** What asked a command to stop. */
export type StopRequest =
  | { readonly kind: "signal"; readonly signal: ShutdownSignal }
  | { readonly kind: "parent-gone"; readonly was: number; readonly now: number };

/** What a long-running command does when it is asked to stop. */
export interface StopRequestHandlers {
  /** The first request, a signal or the parent's death: begin a graceful stop. */
  onStop(request: StopRequest): void;
  /** A signal after the first request: the operator will not wait for the drain. */
  onRepeat(signal: ShutdownSignal): void;
}

/**
 * Installs SIGINT/SIGTERM handlers and, with `parentWatch`, the parent
 * watch; each request goes to `handlers` as described there.
 *
 * @returns The function that removes the handlers and stops the watch.
 */
export async function onStopRequests(
  handlers: StopRequestHandlers,
  options: { parentWatch: boolean },
): Promise<() => void> {
  let stopping = false;
  const first = (request: StopRequest) => {
    if (stopping) return;
    stopping = true;
    handlers.onStop(request);
  };
  const removeSignalHandlers = await onShutdownSignal((signal) =>
    stopping ? handlers.onRepeat(signal) : first({ kind: "signal", signal })
  );
  const stopWatching = options.parentWatch
    ? watchParent({
      readParentPid: await parentPidReader(),
      onGone: (gone) => first({ kind: "parent-gone", ...gone }),
    })
    : () => {};
  return () => {
    removeSignalHandlers();
    stopWatching();
  };
}

/** How a stop request reads in a log line: `Received SIGTERM`, `Parent process 41 exited`. */
export function describeStopRequest(request: StopRequest): string {
  return request.kind === "signal"
    ? `Received ${request.signal}`
    : `Parent process ${request.was} exited (parent now ${request.now})`;
}
