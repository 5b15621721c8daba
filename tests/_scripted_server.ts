/**
 * A scripted HTTP server on 127.0.0.1 for answers the reference server never
 * gives (a 204 stream, a 401 echoing the token, a 503 whose body stalls),
 * and a real-time wait that works while `fakeTime()` is installed.
 *
 * @module
 */

/** The real timer, kept before any test installs fake time over the global one. */
const realSetTimeout = globalThis.setTimeout;

/** A served script; `await using` stops it. */
export interface ScriptedServer extends AsyncDisposable {
  /** The site root, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: Request[];
  /** Aborted when the server stops, before it waits for open responses to end. */
  readonly stopping: AbortSignal;
}

/**
 * Serves `answer(n, request)` for the n-th request (from 0) on a free
 * loopback port.
 */
export function scriptedServer(
  answer: (n: number, request: Request) => Response | Promise<Response>,
): ScriptedServer {
  const requests: Request[] = [];
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} },
    (request) => {
      requests.push(request);
      return answer(requests.length - 1, request);
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stopping: stop.signal,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await server.finished.catch(() => {});
    },
  };
}

/**
 * A body that sends `text` and then stalls until the reader cancels it
 * (`onCancel` is then called) or `until` aborts (the body then ends, so a
 * server stopping after a failed test does not wait for it for ever).
 */
export function stalledBody(
  text: string,
  until: AbortSignal,
  onCancel: () => void = () => {},
): ReadableStream<Uint8Array> {
  let end = () => {};
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      end = () => controller.close();
      until.addEventListener("abort", end, { once: true });
    },
    cancel() {
      until.removeEventListener("abort", end);
      onCancel();
    },
  });
}

/**
 * Polls `condition` every 5 ms of real time (whether or not the global
 * timers are fake) until it holds: for I/O that fake time cannot move.
 *
 * @throws {Error} when it still does not hold after `timeout` real ms.
 */
export async function untilReal(
  condition: () => boolean,
  what: string,
  timeout = 5_000,
): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

/** A response body the test writes to as it goes; see {@linkcode pushableBody}. */
export interface PushableBody {
  readonly body: ReadableStream<Uint8Array>;
  /** Sends `text` now. */
  push(text: string): void;
  /** Whether the reader cancelled the body (the client dropped the connection). */
  readonly cancelled: boolean;
}

/**
 * A body that sends what the test pushes, when it pushes it, until the
 * reader cancels it or `until` aborts (it then ends).
 */
export function pushableBody(until: AbortSignal): PushableBody {
  const encoder = new TextEncoder();
  let stream!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const end = () => stream.close();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stream = controller;
      until.addEventListener("abort", end, { once: true });
    },
    cancel() {
      until.removeEventListener("abort", end);
      cancelled = true;
    },
  });
  return {
    body,
    push: (text) => stream.enqueue(encoder.encode(text)),
    get cancelled() {
      return cancelled;
    },
  };
}
