/**
 * Keeps an HTTP server accepting connections after its accept loop died.
 * Deno's `Deno.serve` ends its loop for good at the first failed accept —
 * `EMFILE` once the process is out of file descriptors — and rejects its
 * `finished` promise: the port stops listening, while the connections it
 * accepted go on. Unobserved, that rejection is an uncaught error that ends
 * the process (a test run fails the test file it happens in). Node and Bun
 * keep their listening socket through the same condition and drop only the
 * connections they could not accept, so elsewhere nothing ends.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { delay } from "./async.ts";
import { Backoff } from "./reconnect.ts";

const logger = getLogger(["bus-integration", "http"]);

/**
 * Waits between tries to listen again: from 100 ms, doubling (jittered) up
 * to 5 s; a server that stayed up for 10 s starts the schedule over.
 */
export const RELISTEN_BACKOFF = { min: 100, max: 5_000, healthyAfter: 10_000 } as const;

/** What {@linkcode keepAccepting} needs of one server and of the place it listens. */
export interface KeepAcceptingOptions<S> {
  /** Where it listens, for the log lines (no credentials in it). */
  url: string;
  /** The server listening now. */
  first: S;
  /** The end of `server`'s accept loop (Deno's `finished`), or `undefined` where none can die. */
  endOf(server: S): Promise<void> | undefined;
  /** Listens again on the same address; rejects (or throws) when it cannot yet. */
  listen(): Promise<S>;
  /** Takes each server listening again, for closing with the rest. */
  adopt(server: S): void;
  /** Aborted when the caller closes: no more tries, and a server listening then is handed over all the same. */
  signal: AbortSignal;
  /** Draws the jitter of the waits. @default {Math.random} */
  random?: () => number;
  /** The clock that tells how long a server stayed up. @default {Date.now} */
  now?: () => number;
}

/**
 * Watches `first` and listens again (through `listen`) each time an accept
 * loop dies before `signal` aborts, logging the failure at error level and
 * the recovery at info. Never rejects and throws nothing: a failed try is
 * logged at warning level and tried again after the next wait.
 */
export function keepAccepting<S>(options: KeepAcceptingOptions<S>): void {
  const { url, signal } = options;
  const now = options.now ?? Date.now;
  const backoff = new Backoff(RELISTEN_BACKOFF, options.random);
  let upSince = now();

  const watch = (server: S) => {
    options.endOf(server)?.then(undefined, (error: unknown) => {
      if (signal.aborted) return;
      if (now() - upSince >= RELISTEN_BACKOFF.healthyAfter) backoff.reset();
      void relisten(error);
    });
  };

  const relisten = async (error: unknown) => {
    let wait = backoff.next();
    logger.error("Stopped accepting connections on {url}: {error}; listening again in {delay} ms", {
      url,
      error,
      delay: wait,
    });
    for (;;) {
      try {
        await delay(wait, signal);
      } catch {
        return; // Closed meanwhile.
      }
      let server: S;
      try {
        server = await options.listen();
      } catch (failure) {
        wait = backoff.next();
        logger.warn("Cannot listen on {url} again: {error}; next try in {delay} ms", {
          url,
          error: failure,
          delay: wait,
        });
        continue;
      }
      options.adopt(server);
      if (signal.aborted) return;
      upSince = now();
      logger.info("Accepting connections on {url} again", { url });
      watch(server);
      return;
    }
  };

  watch(options.first);
}
