/**
 * An in-process `fetch` that answers from a script of steps: real `Response`
 * objects with real `ReadableStream` bodies, no sockets, so listener tests
 * can run under fake time.
 *
 * @module
 */

import type { EventEnvelope, FetchLike } from "../mod.ts";

/** One scripted answer. */
export interface Step {
  /** HTTP status. @default {200} */
  status?: number;
  /** Extra headers (`content-type` defaults to NDJSON). */
  headers?: Record<string, string>;
  /** Envelopes (or raw lines) written as NDJSON before the body ends. */
  events?: Array<EventEnvelope | string>;
  /** How the body ends: `eof` closes it, `hang` keeps it open until aborted, `cut` errors it. */
  end?: "eof" | "hang" | "cut";
  /** Body of a non-2xx answer. */
  errorBody?: unknown;
}

/** What the script saw of one request. */
export interface SeenRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: string;
  /** `Date.now()` (fake when fake time is on) when the request arrived. */
  at: number;
}

/** A scripted fetch and the requests it received. */
export interface ScriptedFetch {
  fetch: FetchLike;
  requests: SeenRequest[];
  /** Streams still open (bodies not cancelled or ended). */
  readonly open: number;
  /** Cuts every open `hang` stream as a dying server would (`TypeError: terminated`). */
  dropAll(): void;
}

/**
 * Answers requests with `steps` in order; past the end it repeats the last
 * step. `hang` bodies end when the request's signal aborts.
 */
export function scriptedFetch(steps: Step[]): ScriptedFetch {
  const requests: SeenRequest[] = [];
  let open = 0;
  const hanging = new Set<() => void>();
  const encoder = new TextEncoder();
  const fetch: FetchLike = async (request) => {
    const step = steps[Math.min(requests.length, steps.length - 1)] ?? {};
    requests.push({
      url: new URL(request.url),
      method: request.method,
      headers: request.headers,
      body: request.method === "POST" ? await request.text() : "",
      at: Date.now(),
    });
    if (request.signal.aborted) throw request.signal.reason;
    const status = step.status ?? 200;
    if (status >= 300) {
      return new Response(
        JSON.stringify(step.errorBody ?? { error: { type: "x", message: "no" } }),
        {
          status,
          headers: { "content-type": "application/json", ...step.headers },
        },
      );
    }
    if (request.method === "POST") {
      const body = JSON.parse(requests.at(-1)!.body);
      return Response.json({ accepted: true, id: `p${requests.length}`, name: body.name }, {
        status: 202,
      });
    }
    const lines = (step.events ?? []).map((e) => typeof e === "string" ? e : JSON.stringify(e));
    let finished = false;
    const finish = () => {
      if (!finished) open--;
      finished = true;
    };
    const pending = lines.map((line) => encoder.encode(`${line}\n`));
    open++;
    const body = new ReadableStream<Uint8Array>({
      // Lines go out one per pull, so a cut comes after they were read, as
      // with bytes a socket delivered before it broke.
      pull(controller) {
        const next = pending.shift();
        if (next) return controller.enqueue(next);
        const end = step.end ?? "eof";
        if (end === "eof") {
          finish();
          controller.close();
        } else if (end === "cut") {
          finish();
          controller.error(new TypeError("terminated"));
        } else if (!finished) {
          const cut = (reason: unknown) => {
            hanging.delete(drop);
            finish();
            controller.error(reason);
          };
          const drop = () => cut(new TypeError("terminated"));
          hanging.add(drop);
          request.signal.addEventListener("abort", () => cut(request.signal.reason), {
            once: true,
          });
          return new Promise<void>(() => {}); // no further pulls
        }
      },
      cancel: finish,
    });
    return new Response(body, {
      status,
      headers: { "content-type": "application/x-ndjson", ...step.headers },
    });
  };
  return {
    fetch,
    requests,
    get open() {
      return open;
    },
    dropAll() {
      for (const drop of [...hanging]) drop();
    },
  };
}
