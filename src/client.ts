/**
 * `EventsClient`: publish and stream Bus events over `fetch`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { assertEventName, type EventEnvelope, withEnvelopeDefaults } from "./envelope.ts";
import { EventsApiError, TransientError } from "./errors.ts";
import { errorForResponse } from "./http_errors.ts";
import { redactSecret } from "./log_fields.ts";
import { framingForContentType } from "./content_type.ts";
import { maxLineBytesOf } from "./decode/types.ts";
import { type EventStream, OpenEventStream, openOnFirstRead } from "./event_stream.ts";
import { linkAbort } from "./async.ts";
import { idleTimeoutOf } from "./idle_watch.ts";
import { defaultMaxStreams, StreamSlots } from "./stream_limit.ts";
import type { EventTransport, PublishOptions, PublishResult, StreamOptions } from "./transport.ts";

/**
 * Supplies the bearer token; called before every request, so a rotated token
 * is used as soon as the provider returns it. `refresh` is `true` when the
 * previous token was rejected (401/403) and a new one should be issued.
 */
export type TokenProvider = (context: { refresh: boolean }) => string | Promise<string>;

/**
 * The `fetch` the client calls, always with one `Request`. The platform's
 * own `fetch` fits as it is (`fetch: fetch`, or leave it out), and so does
 * an in-process handler such as the reference server's `api.fetch`
 * (`fetch: (request) => api.fetch(request)`), which is how tests run a
 * client with no sockets.
 */
export type FetchLike = (input: Request) => Promise<Response>;

/** Options of {@linkcode EventsClient}. */
export interface EventsClientOptions {
  /**
   * The Events API: the site root (`https://bus.example`) or the collection
   * URL (`https://bus.example/api/v1/events`).
   */
  baseUrl: string | URL;
  /** Bearer token, or a provider called per request. Omit for servers without auth. */
  token?: string | TokenProvider;
  /** `fetch` to use. @default {globalThis.fetch} */
  fetch?: FetchLike;
  /** `User-Agent` header to send, where the runtime allows it. */
  userAgent?: string;
  /**
   * `Accept` of stream requests.
   * @default {"application/x-ndjson, text/event-stream"}
   */
  accept?: string;
  /**
   * Largest stream line or SSE event in bytes; a larger one is skipped and
   * reported to the stream's `onInvalid` (kind `too-large`). The
   * constructor throws `RangeError` unless it is a positive integer.
   * @default {1048576}
   */
  maxLineBytes?: number;
  /**
   * Most streams this client holds open (or is opening) at once; one more
   * `open()` rejects with an `EventsApiError` of code `too_many_streams`,
   * which stops a listener instead of leaving it waiting. Where the runtime
   * caps concurrent `fetch` requests and queues the rest (Bun:
   * `BUN_CONFIG_MAX_HTTP_REQUESTS`, default 256), a stream past the cap
   * would never get its answer, so the default there is that cap less 16
   * kept free for publishing. The constructor throws `RangeError` unless it
   * is a positive integer.
   * @default {no limit; on Bun, BUN_CONFIG_MAX_HTTP_REQUESTS − 16 (240)}
   */
  maxStreams?: number;
  /**
   * The longest an open stream waits for its next bytes, in ms: a stream
   * that receives nothing for that long (no event, no heartbeat) fails with
   * a `TransientError` of code `idle`, which a listener answers by
   * reconnecting from its resume point. It finds connections that died
   * without a word (a NAT or load balancer dropped them), which otherwise
   * stay "ready" and deliver nothing. Set it to a few times the server's
   * heartbeat interval (the reference server's is 15 s); with a server that
   * sends none, a quiet stream reconnects once per period. Only time spent
   * waiting on the network counts: a worker too busy to read is not idle.
   * The constructor throws `RangeError` unless it is a whole number from 1
   * to 2^31 − 1.
   * @default {no bound (Node's fetch ends a body silent for 300 s on its own)}
   */
  idleTimeout?: number;
}

const DEFAULT_ACCEPT = "application/x-ndjson, text/event-stream";
const COLLECTION_PATH = "/api/v1/events";

/** Resolves both accepted base URL forms to the events collection URL. */
function collectionUrl(baseUrl: string | URL): URL {
  const url = new URL(baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`Cannot use base URL: protocol "${url.protocol}" is not http or https`);
  }
  if (url.username !== "" || url.password !== "") {
    // fetch refuses such URLs at the first request; say why up front, and
    // never echo them: the user info is a secret.
    throw new TypeError(
      "Cannot use base URL: it carries a user name or password; pass the token as `token` instead",
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith(COLLECTION_PATH) ? path : `${path}${COLLECTION_PATH}`;
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * Header values are byte strings: send a non-ASCII id as its UTF-8 bytes,
 * and drop characters that would split the header.
 */
function headerSafe(value: string): string {
  const clean = value.replace(/[\r\n\0]/g, "");
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(clean)) return clean;
  return Array.from(new TextEncoder().encode(clean), (byte) => String.fromCharCode(byte)).join("");
}

const BEARER = "Bearer ";

/**
 * The error for a 2xx stream answer without a body (204, 205, or a `fetch`
 * that gave none). The Events API never sends one: it comes from something
 * in between (a proxy, a gateway, a load balancer mid-deploy), which is
 * likely transient. WHATWG EventSource takes a 204 as "stop reconnecting",
 * but a browser page can be reloaded; a worker that stopped for good on a
 * proxy's hiccup would need an operator. So it is a `TransientError`: the
 * listener retries with its growing backoff (no hot loop), its readiness
 * turns false with this message, and the cause is plain in the logs.
 */
function noBodyError(status: number): TransientError {
  return new TransientError(`Cannot open stream: the server answered ${status} with no body`, {
    status,
    code: "no_body",
  });
}

/**
 * Publishes events to and streams events from the Bus Events API: the HTTP
 * {@linkcode EventTransport}. It holds no connection of its own (each stream
 * is one `fetch`), so one client is shared by every worker of a process.
 *
 * @example Publish and listen
 * ```ts ignore
 * import { EventsClient } from "@bus/integration";
 *
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * const { id } = await client.publish({ name: "example.ping", payload: { hello: "world" } });
 * for await (const event of client.stream({ name: "example.ping", replay: true, follow: false })) {
 *   console.log(event.id, event.payload);
 * }
 * ```
 */
export class EventsClient implements EventTransport {
  readonly #collection: URL;
  readonly #streamUrl: URL;
  readonly #token: string | TokenProvider | undefined;
  readonly #fetch: FetchLike;
  /** Whether `fetch` is the runtime's own (no `fetch` option): publishes skip building a `Request`. */
  readonly #globalFetch: boolean;
  readonly #userAgent: string | undefined;
  readonly #accept: string;
  readonly #maxLineBytes: number;
  readonly #streams: StreamSlots;
  readonly #idleTimeout: number | undefined;
  /**
   * Every publish's headers while the token is a string or absent, built by
   * the first publish: one `Headers` per publish was a measurable share of
   * it on Bun. `fetch` copies them into its request and never changes them.
   */
  #publishHeaders: Headers | undefined;

  /**
   * Creates a client.
   *
   * @throws {TypeError} When the base URL is not http(s).
   * @throws {RangeError} When `maxLineBytes` or `maxStreams` is not a positive integer, or
   * `idleTimeout` is not a whole number from 1 to 2^31 − 1.
   */
  constructor(options: EventsClientOptions) {
    this.#collection = collectionUrl(options.baseUrl);
    this.#streamUrl = new URL(`${this.#collection.pathname}/stream`, this.#collection);
    this.#token = options.token;
    const fetchImpl = options.fetch;
    this.#fetch = fetchImpl ?? ((request) => globalThis.fetch(request));
    this.#globalFetch = fetchImpl === undefined;
    this.#userAgent = options.userAgent;
    this.#accept = options.accept ?? DEFAULT_ACCEPT;
    this.#maxLineBytes = maxLineBytesOf(options);
    this.#streams = new StreamSlots(options.maxStreams ?? defaultMaxStreams());
    this.#idleTimeout = idleTimeoutOf(options.idleTimeout);
  }

  /** The events collection URL every request goes to. */
  get url(): string {
    return this.#collection.href;
  }

  /** Whether the token comes from a provider that can reissue it after a 401/403. */
  get canRefreshCredentials(): boolean {
    return typeof this.#token === "function";
  }

  /**
   * Does nothing: the client owns no connection (streams close through
   * their signals or `close()`). Present so the client is an
   * {@linkcode EventTransport}.
   */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Publishes one event. Validates the name locally, fills in `version` and
   * `timestamp`, keeps every other field, and returns the server's id. Any
   * 2xx answer means the event was accepted: one whose body carries no
   * string `id` (an empty `204`, say) resolves with `id: undefined`.
   *
   * @throws {TypeError} when the name is invalid.
   * @throws {EventsApiError} (or a subclass) when the server refuses.
   */
  async publish(event: EventEnvelope, options?: PublishOptions): Promise<PublishResult> {
    options ??= {};
    assertEventName(event.name);
    const body = JSON.stringify(withEnvelopeDefaults(event));
    const headers = this.#publishHeaders ??
      await this.#headers({ "content-type": "application/json" }, false);
    if (typeof this.#token !== "function") this.#publishHeaders = headers;
    const init: RequestInit = { method: "POST", headers, body, signal: options.signal ?? null };
    // Node's fetch copies a Request it is given (a second body stream, about
    // a fifth of a publish there), so the runtime's own fetch gets the URL
    // and init as they are; a `fetch` option gets a Request, as its type says.
    const response = await this.#send(
      this.#globalFetch ? [this.#collection, init] : new Request(this.#collection, init),
      options.signal,
      "publish event",
    );
    if (!response.ok) {
      throw await errorForResponse(response, "publish event", this.#redactorFor(headers));
    }
    if (options.discardId === true) {
      // Reading and parsing the answer is most of what a publish costs the
      // client on some runtimes (Bun); the connection is reused all the same.
      await response.body?.cancel();
      return { id: undefined, name: event.name };
    }
    // A 2xx is the server's word that it took the event, whatever the body
    // says: failing here would make the caller publish it again, a duplicate.
    const answer = await response.json().catch(() => undefined) as
      | { id?: unknown; name?: unknown }
      | undefined;
    return {
      id: typeof answer?.id === "string" ? answer.id : undefined,
      name: typeof answer?.name === "string" ? answer.name : event.name,
    };
  }

  /**
   * Opens a stream and resolves once the server answered 2xx (the moment a
   * listener is "ready"). Non-2xx answers reject with the mapped error.
   *
   * Settle every envelope it hands out (`stream.settle(event, { type:
   * "done" })`): its resume point moves over settled envelopes only, and it
   * keeps each unsettled one until then. To just read, use
   * {@linkcode EventsClient.stream}, which settles as it hands out.
   */
  open(options: StreamOptions): Promise<EventStream> {
    return this.#open(options, false);
  }

  async #open(options: StreamOptions, settleOnTake: boolean): Promise<EventStream> {
    assertEventName(options.name);
    const release = this.#streams.acquire();
    const controller = new AbortController();
    const unlink = linkAbort(options.signal, controller);
    try {
      const headers = await this.#headers(
        { accept: this.#accept },
        options.refreshCredentials ?? false,
      );
      if (options.lastEventId) headers.set("last-event-id", headerSafe(options.lastEventId));
      const url = this.#streamQuery(options);
      const init: RequestInit = { headers, signal: controller.signal };
      // As for publish: a Request the runtime's fetch is given is copied,
      // and an open stream's fetch keeps both (on Node, ~1 KiB a listener).
      const response = await this.#send(
        this.#globalFetch ? [url, init] : new Request(url, init),
        controller.signal,
        "open stream",
      );
      if (!response.ok) {
        throw await errorForResponse(response, "open stream", this.#redactorFor(headers));
      }
      if (response.body === null || response.status === 204 || response.status === 205) {
        await response.body?.cancel().catch(() => {});
        throw noBodyError(response.status);
      }
      // A missing Content-Type means NDJSON, so only a named one is unexpected.
      const contentType = response.headers.get("content-type");
      const framing = framingForContentType(contentType);
      if (framing === undefined) {
        await response.body.cancel().catch(() => {});
        throw new EventsApiError(`Cannot open stream: unexpected Content-Type "${contentType}"`, {
          status: response.status,
          code: "bad_content_type",
        });
      }
      // From here the stream follows `options.signal` itself: one listener
      // on it per open stream instead of this link and one of the stream's.
      unlink();
      return new OpenEventStream({
        body: response.body,
        status: response.status,
        framing,
        maxLineBytes: this.#maxLineBytes,
        onInvalid: options.onInvalid,
        controller,
        signal: options.signal,
        initialEventId: options.lastEventId,
        settleOnTake,
        onClose: release,
        idleTimeout: this.#idleTimeout,
      });
    } catch (error) {
      unlink();
      release();
      controller.abort();
      throw error;
    }
  }

  /**
   * Streams envelopes until the server ends the response, each settled as
   * it is handed out. The request goes out on the first `next()`, which
   * rejects as `open()` would. Breaking out of the loop, or aborting
   * `options.signal`, cancels the request.
   */
  stream(options: StreamOptions): AsyncIterableIterator<EventEnvelope, undefined> {
    return openOnFirstRead(() => this.#open(options, true));
  }

  #streamQuery(options: StreamOptions): URL {
    const url = new URL(this.#streamUrl);
    url.searchParams.set("name", options.name);
    if (options.delivery) url.searchParams.set("delivery", options.delivery);
    if (options.group) url.searchParams.set("group", options.group);
    if (options.consumer) url.searchParams.set("consumer", options.consumer);
    if (options.replay) url.searchParams.set("replay", "true");
    if (options.follow === false) url.searchParams.set("follow", "false");
    return url;
  }

  async #headers(base: Record<string, string>, refresh: boolean): Promise<Headers> {
    const headers = new Headers(base);
    if (this.#userAgent) headers.set("user-agent", this.#userAgent);
    const token = typeof this.#token === "function" ? await this.#token({ refresh }) : this.#token;
    if (token) headers.set("authorization", `Bearer ${token}`);
    return headers;
  }

  /**
   * Removes from server-provided text the token the request with `headers`
   * sent and the configured one. Per request, not the client's latest: with
   * a rotating provider, concurrent requests may have fetched newer tokens
   * since. Read back from the header, so what is redacted is exactly what
   * went out; made only for an error answer, off the hot path.
   */
  #redactorFor(headers: Headers): (text: string) => string {
    const sent = headers.get("authorization")?.slice(BEARER.length);
    const configured = typeof this.#token === "string" ? this.#token : undefined;
    return (text) => redactSecret(redactSecret(text, sent), configured);
  }

  async #send(
    request: Request | [URL, RequestInit],
    signal: AbortSignal | undefined,
    action: string,
  ) {
    try {
      return await (Array.isArray(request)
        ? globalThis.fetch(request[0], request[1])
        : this.#fetch(request));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`Cannot ${action}: the network request failed`, {
        code: "network",
        cause: error,
      });
    }
  }

  /** A summary without the token, for logs. */
  toString(): string {
    return `EventsClient(${this.#collection.href})`;
  }

  /** Keeps the token out of `Deno.inspect` / `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Keeps the token out of Node's and Bun's `util.inspect` / `console.log`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
