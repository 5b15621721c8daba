/**
 * The reference Events API server: routes, publish, stream, and the object
 * tests drive (`createEventsApi`).
 *
 * @module
 */

import {
  envelopeProblem,
  type EventEnvelope,
  eventNameProblem,
  withEnvelopeDefaults,
} from "../envelope.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../decode/types.ts";
import { chooseFraming } from "./accept.ts";
import {
  type AuthFailure,
  hasScope,
  type MintTokenOptions,
  type Principal,
  requiredScope,
  TokenAuthority,
} from "./auth.ts";
import { type EventsApiFaults, Faults } from "./faults.ts";
import { errorResponse, jsonResponse, readBodyText } from "./http.ts";
import { type HttpListener, listen, type ServeOptions } from "./serve.ts";
import { type EventsApiStats, Stats } from "./stats.ts";
import { EventStore, type UnicastGroup } from "./store.ts";
import { EventStream } from "./stream_response.ts";

/** Path of the publish route. */
const EVENTS_PATH = "/api/v1/events";
/** Path of the stream route. */
const STREAM_PATH = "/api/v1/events/stream";
/** Largest publish body accepted, in bytes (1 MiB). */
const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Largest stored event accepted, in UTF-8 bytes of its JSON: what a client
 * with the default `maxLineBytes` can read in either framing. The SSE
 * `data: ` prefix counts towards the line bound, so it is taken off here;
 * the server's own fields (`id`, `identity_id`, `version`, `timestamp`)
 * count too, because they are stamped before the check.
 */
const MAX_RECORD_BYTES = DEFAULT_MAX_LINE_BYTES - "data: ".length;
/** Group and consumer names: short, URL-safe and stable. */
const MEMBER_NAME = /^[A-Za-z0-9._~-]{1,128}$/;

/** Options of {@linkcode createEventsApi}. */
export interface EventsApiOptions {
  /**
   * Bearer-token checking. By default it is on, with a random HS256 secret
   * per instance (mint tokens with {@linkcode EventsApi.mintToken}); give a
   * `secret` to share it with tokens signed elsewhere. `false` turns auth
   * off: every request is `"anonymous"` and may do everything.
   *
   * @default {{}}
   */
  auth?: false | { secret?: string };
  /**
   * The JWT audience required.
   *
   * @default {"ai.hg.fi/api"}
   */
  audience?: string;
  /**
   * Events kept per name for replay and `Last-Event-ID` resume; the oldest
   * are dropped.
   *
   * @default {10_000}
   */
  historyLimit?: number;
  /**
   * Most events a unicast group holds for its consumers; past it the oldest
   * is dropped and counted in `stats.dropped`.
   *
   * @default {100_000}
   */
  groupBacklogLimit?: number;
  /**
   * Keepalive interval on open streams in milliseconds (NDJSON: an empty
   * line; SSE: a `: keepalive` comment); `0` sends none.
   *
   * @default {15_000}
   */
  heartbeatMs?: number;
  /**
   * Protected name prefixes and the scopes they need instead of
   * `events:send` / `events:listen`, e.g.
   * `{"bus.vm.": {read: "vm:read", write: "vm:write"}}`. The longest
   * matching prefix wins.
   *
   * @default {{}}
   */
  resourceScopes?: Record<string, { read: string; write: string }>;
  /**
   * Refuse (`400 bad_request`) a publish whose known envelope fields do not
   * have the types of the contract's envelope table: `version`,
   * `correlationId` and `source` strings, `timestamp` an RFC 3339
   * date-time, `metadata` an object of strings, `error` an object with
   * string `code` and `message`. `null` counts as absent. `false` stores
   * such envelopes as they came, to test how a client copes with what a
   * lenient backend or a producer in another language might deliver.
   *
   * @default {true}
   */
  checkFieldTypes?: boolean;
}

/** A reference server listening on a port. */
export interface ServedEventsApi {
  /** The site root, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /**
   * Ends the streams served through this listener and drops its
   * connections; the port is free when the promise resolves. The
   * {@linkcode EventsApi} keeps its state and can serve again.
   */
  close(): Promise<void>;
}

/** An in-memory Events API server for tests and local development. */
export interface EventsApi {
  /** Answers one request; usable in-process, without a socket. */
  fetch(request: Request): Promise<Response>;
  /**
   * Listens on `hostname:port` (default `127.0.0.1`, a free port). Can be
   * called again after the listener closed, e.g. with the same port to
   * simulate a restart that keeps history and groups.
   */
  serve(options?: ServeOptions): Promise<ServedEventsApi>;
  /** Signs a token this server accepts. */
  mintToken(options?: MintTokenOptions): Promise<string>;
  /** Fault injection. */
  readonly faults: EventsApiFaults;
  /** Counters. */
  readonly stats: EventsApiStats;
  /** Ends every open stream and closes every listener. */
  close(): Promise<void>;
}

/**
 * Creates an in-memory reference server that speaks the Bus Events API:
 * `POST /api/v1/events` and `GET /api/v1/events/stream` with broadcast and
 * unicast delivery, replay, `Last-Event-ID` resume, NDJSON or SSE framing,
 * HS256 bearer tokens and fault injection. Runs on Deno, Node and Bun.
 *
 * @param options Auth, history and keepalive settings.
 * @returns The server; {@linkcode EventsApi.serve} puts it on a port.
 *
 * @example Publish and listen over loopback HTTP
 * ```ts
 * import { createEventsApi } from "@bus/integration/testing";
 *
 * const api = createEventsApi();
 * const served = await api.serve();
 * const token = await api.mintToken();
 * try {
 *   const stream = await fetch(`${served.url}/api/v1/events/stream?name=example.ping`, {
 *     headers: { authorization: `Bearer ${token}` },
 *   });
 *   await fetch(`${served.url}/api/v1/events`, {
 *     method: "POST",
 *     headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
 *     body: JSON.stringify({ name: "example.ping", payload: { n: 1 } }),
 *   }).then((response) => response.body?.cancel());
 *   // stream.body yields an empty keepalive line, then the event as one JSON line.
 *   await stream.body?.cancel();
 * } finally {
 *   await api.close();
 * }
 * ```
 */
export function createEventsApi(options?: EventsApiOptions): EventsApi {
  return new ReferenceEventsApi(options ?? {});
}

/** Per-listener bookkeeping: the streams it must end when it closes. */
interface ListenerState {
  readonly streams: Set<EventStream>;
  http: HttpListener | undefined;
  closed: boolean;
}

class ReferenceEventsApi implements EventsApi {
  readonly faults: Faults;
  readonly stats: Stats;
  readonly #authority: TokenAuthority;
  readonly #store: EventStore;
  readonly #heartbeatMs: number;
  readonly #resourceScopes: Readonly<Record<string, { read: string; write: string }>>;
  readonly #checkFieldTypes: boolean;
  readonly #streams = new Set<EventStream>();
  readonly #listeners = new Set<ListenerState>();

  constructor(options: EventsApiOptions) {
    const historyLimit = options.historyLimit ?? 10_000;
    if (!Number.isInteger(historyLimit) || historyLimit < 1) {
      throw new RangeError(
        `Cannot use historyLimit ${historyLimit}: expected a positive integer`,
      );
    }
    const groupBacklogLimit = options.groupBacklogLimit ?? 100_000;
    if (!Number.isInteger(groupBacklogLimit) || groupBacklogLimit < 1) {
      throw new RangeError(
        `Cannot use groupBacklogLimit ${groupBacklogLimit}: expected a positive integer`,
      );
    }
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    if (!Number.isFinite(heartbeatMs) || heartbeatMs < 0) {
      throw new RangeError(`Cannot use heartbeatMs ${heartbeatMs}: expected a number >= 0`);
    }
    this.#heartbeatMs = heartbeatMs;
    this.#resourceScopes = { ...options.resourceScopes };
    this.#checkFieldTypes = options.checkFieldTypes ?? true;
    this.#authority = new TokenAuthority({
      enabled: options.auth !== false,
      secret: options.auth === false ? undefined : options.auth?.secret,
      audience: options.audience ?? "ai.hg.fi/api",
    });
    this.stats = new Stats(() => this.#streams.size);
    this.#store = new EventStore(historyLimit, groupBacklogLimit, () => this.stats.recordDropped());
    this.faults = new Faults({
      streams: () => this.#streams,
      redispatch: () => this.#store.dispatchAll(),
    });
  }

  fetch(request: Request): Promise<Response> {
    return this.#handle(request, undefined);
  }

  async serve(options: ServeOptions = {}): Promise<ServedEventsApi> {
    const state: ListenerState = { streams: new Set(), http: undefined, closed: false };
    const http = await listen((request) => this.#handle(request, state), options);
    state.http = http;
    this.#listeners.add(state);
    let closing: Promise<void> | undefined;
    return {
      url: http.url,
      port: http.port,
      close: () => {
        closing ??= this.#closeListener(state);
        return closing;
      },
    };
  }

  mintToken(options?: MintTokenOptions): Promise<string> {
    return this.#authority.mint(options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((state) => this.#closeListener(state)));
    for (const stream of [...this.#streams]) stream.close();
  }

  async #closeListener(state: ListenerState): Promise<void> {
    this.#listeners.delete(state);
    state.closed = true;
    // Ending our bodies first, and giving the adapter a turn to write their
    // last chunk, lets each client see a clean end of stream rather than a
    // reset when the connections are then dropped.
    const streams = [...state.streams];
    for (const stream of streams) stream.close();
    if (streams.length > 0) await macrotask();
    await state.http?.close();
  }

  async #handle(request: Request, listener: ListenerState | undefined): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.length > 1 && url.pathname.endsWith("/")
      ? url.pathname.slice(0, -1)
      : url.pathname;
    if (path === EVENTS_PATH) {
      if (request.method !== "POST") return methodNotAllowed("POST");
      return await this.#publish(request);
    }
    if (path === STREAM_PATH) {
      if (request.method !== "GET") return methodNotAllowed("GET");
      return await this.#stream(request, url, listener);
    }
    return errorResponse(404, "not_found", `no route for ${request.method} ${url.pathname}`);
  }

  async #publish(request: Request): Promise<Response> {
    const injected = this.faults.take("publish");
    if (injected !== undefined) return injected;
    const principal = await this.#authority.authenticate(request);
    if (isFailure(principal)) return unauthorized(principal);

    const text = await readBodyText(request, MAX_BODY_BYTES);
    if (text === undefined) {
      return errorResponse(
        413,
        "payload_too_large",
        `event body is larger than ${MAX_BODY_BYTES} bytes`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return errorResponse(400, "bad_request", "body is not valid JSON");
    }
    const problem = envelopeProblem(body) ??
      (this.#checkFieldTypes ? fieldTypeProblem(body as EventEnvelope) : undefined);
    if (problem !== undefined) {
      return errorResponse(400, "bad_request", `body is not an event envelope: ${problem}`);
    }
    const envelope = body as EventEnvelope;
    const nameProblem = eventNameProblem(envelope.name);
    if (nameProblem !== undefined) {
      return errorResponse(
        400,
        "bad_request",
        `invalid event name ${JSON.stringify(envelope.name)}: ${nameProblem}`,
      );
    }
    const scope = requiredScope(envelope.name, "write", this.#resourceScopes);
    if (!hasScope(principal, scope)) return forbidden(scope, envelope.name);

    // The identity is the token's, whatever the caller wrote.
    const published = this.#store.publish(
      withEnvelopeDefaults({ ...envelope, identity_id: principal.identity }),
      MAX_RECORD_BYTES,
    );
    if (published === undefined) {
      // Refused rather than stored: a client with the default bound would
      // skip it as too large, and the publisher would never know.
      return errorResponse(
        413,
        "payload_too_large",
        `event is larger than ${MAX_RECORD_BYTES} bytes once stored (id, identity_id, version and timestamp included)`,
      );
    }
    const { event } = published;
    this.stats.recordPublished();
    return jsonResponse({ accepted: true, id: event.id, name: event.name }, 202);
  }

  async #stream(
    request: Request,
    url: URL,
    listener: ListenerState | undefined,
  ): Promise<Response> {
    const injected = this.faults.take("stream");
    if (injected !== undefined) return injected;
    const principal = await this.#authority.authenticate(request);
    if (isFailure(principal)) return unauthorized(principal);

    const query = parseStreamQuery(url.searchParams);
    if (typeof query === "string") return errorResponse(400, "bad_request", query);
    const scope = requiredScope(query.name, "read", this.#resourceScopes);
    if (!hasScope(principal, scope)) return forbidden(scope, query.name);

    // A stream set up while its listener closed would outlive the listener.
    if (listener?.closed) return errorResponse(503, "unavailable", "the server is closing");
    const framing = chooseFraming(request.headers.get("accept"));
    let group: UnicastGroup | undefined;
    let unsubscribe: (() => void) | undefined;
    const stream = new EventStream({
      labels: {
        name: query.name,
        delivery: query.delivery,
        group: query.delivery === "unicast" ? query.group : undefined,
        consumer: query.consumer,
      },
      framing,
      heartbeatMs: this.#heartbeatMs,
      isStalled: () => this.faults.stalled,
      onDemand: () => group?.dispatch(),
      onDelivered: () => this.stats.recordDelivered(stream.labels),
      onClose: () => {
        this.#streams.delete(stream);
        listener?.streams.delete(stream);
        unsubscribe?.();
        group?.leave(stream);
      },
    });
    this.#streams.add(stream);
    listener?.streams.add(stream);

    // Everything from here to the response is synchronous, so no event can
    // be published between the backlog snapshot and the live subscription:
    // resume has neither a gap nor a duplicate.
    if (query.delivery === "broadcast") {
      // An empty Last-Event-ID is the SSE way of saying "no id yet".
      const lastEventId = request.headers.get("last-event-id")?.trim() || undefined;
      const backlog = lastEventId !== undefined
        ? this.#store.historyAfter(query.name, lastEventId)
        : query.replay
        ? this.#store.history(query.name)
        : [];
      for (const event of backlog) stream.sendEvent(event);
      if (query.follow) {
        unsubscribe = this.#store.subscribe(query.name, stream);
      } else {
        stream.end();
      }
    } else {
      const found = this.#store.group(query.name, query.group, query.replay);
      if (query.follow) {
        group = found;
        found.join(stream);
      } else {
        for (const event of found.takeAll()) stream.sendEvent(event);
        stream.end();
      }
    }
    // Node holds response headers until the first body byte; a keepalive
    // sends them at once, so clients see the stream open (and readiness).
    if (!stream.closed && stream.framesWritten === 0) stream.sendKeepalive();

    return new Response(stream.body, {
      status: 200,
      headers: {
        "content-type": framing === "sse" ? "text/event-stream" : "application/x-ndjson",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        // However a stream ends (drop, restart, follow=false), its connection
        // must not go back to the client's keep-alive pool: the server may
        // be closing it right behind the last chunk.
        "connection": "close",
      },
    });
  }
}

/**
 * Resolves after one turn of the event loop (a macrotask), through a
 * `MessageChannel` round trip: a fake clock (`FakeTime`, sinon) replaces
 * `setTimeout` but not message ports, and closing the server must not
 * wait for a test to move its clock.
 */
function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    // Through the web type: @types/node (the npm build's) types the global
    // port as worker_threads', which has no `onmessage`, though Node's has.
    (port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => {
      // Closed ports keep no runtime's event loop alive.
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(undefined);
  });
}

/** Envelope fields the contract types as strings. */
const STRING_FIELDS = ["version", "correlationId", "source"] as const;

/**
 * An RFC 3339 date-time (section 5.6): `T` (or `t`) between date and time,
 * optional fractional seconds, `Z` or a numeric offset. Field ranges are
 * checked by {@linkcode isRfc3339}.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * Tells why the known fields of `envelope` do not have the types the
 * contract's envelope table gives them, or `undefined` when they do.
 * `null` counts as absent, as a Go service's `encoding/json` reads and
 * writes it (`"error": null` for a nil error). `id` and `identity_id` are
 * not checked: the server replaces them whatever they are. Unknown fields
 * are not checked either: they must survive as they came.
 */
function fieldTypeProblem(envelope: EventEnvelope): string | undefined {
  for (const field of STRING_FIELDS) {
    const value = envelope[field];
    if (value != null && typeof value !== "string") {
      return `${field} must be a string, not ${typeOfJson(value)}`;
    }
  }
  const { timestamp, metadata, error } = envelope;
  if (timestamp != null) {
    if (typeof timestamp !== "string") {
      return `timestamp must be an RFC 3339 string, not ${typeOfJson(timestamp)}`;
    }
    if (!isRfc3339(timestamp)) {
      return `timestamp ${JSON.stringify(timestamp.slice(0, 64))} is not an RFC 3339 date-time`;
    }
  }
  if (metadata != null) {
    if (typeof metadata !== "object" || Array.isArray(metadata)) {
      return `metadata must be an object of strings, not ${typeOfJson(metadata)}`;
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        return `metadata[${JSON.stringify(key.slice(0, 64))}] must be a string, not ${
          typeOfJson(value)
        }`;
      }
    }
  }
  if (error != null) {
    if (typeof error !== "object" || Array.isArray(error)) {
      return `error must be an object {code, message}, not ${typeOfJson(error)}`;
    }
    for (const key of ["code", "message"] as const) {
      const value = (error as unknown as Record<string, unknown>)[key];
      if (typeof value !== "string") {
        return `error.${key} must be a string, not ${typeOfJson(value)}`;
      }
    }
  }
  return undefined;
}

/** Whether `text` is an RFC 3339 date-time with every field in range. */
function isRfc3339(text: string): boolean {
  const match = RFC3339.exec(text);
  if (match === null) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match.slice(1).map(
    (part) => part === undefined ? 0 : Number(part),
  );
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth(year!, month!)) return false;
  // Second 60 is a leap second, which the grammar allows.
  return hour! <= 23 && minute! <= 59 && second! <= 60 && offsetHour! <= 23 &&
    offsetMinute! <= 59;
}

/** Days in `month` (1-12) of `year`, proleptic Gregorian. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The JSON type of a parsed value, for messages: `a number`, `an array`, … */
function typeOfJson(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The stream route's query, validated. */
interface StreamQuery {
  name: string;
  delivery: "broadcast" | "unicast";
  group: string;
  consumer: string;
  replay: boolean;
  follow: boolean;
}

/** Parses the stream query; a string is the reason it is a bad request. */
function parseStreamQuery(params: URLSearchParams): StreamQuery | string {
  const name = params.get("name");
  if (name === null || name === "") return "query parameter name is required";
  const nameProblem = eventNameProblem(name);
  if (nameProblem !== undefined) {
    return `invalid event name ${JSON.stringify(name)}: ${nameProblem}`;
  }
  const delivery = params.get("delivery") ?? "broadcast";
  if (delivery !== "broadcast" && delivery !== "unicast") {
    return `delivery must be broadcast or unicast, not ${JSON.stringify(delivery)}`;
  }
  const group = params.get("group") ?? "default";
  const consumer = params.get("consumer") ?? "default";
  for (const [key, value] of [["group", group], ["consumer", consumer]] as const) {
    if (!MEMBER_NAME.test(value)) {
      return `${key} must be 1-128 URL-safe characters (A-Z a-z 0-9 . _ ~ -)`;
    }
  }
  const replay = parseFlag(params.get("replay"), false);
  if (replay === undefined) return "replay must be true or false";
  const follow = parseFlag(params.get("follow"), true);
  if (follow === undefined) return "follow must be true or false";
  return { name, delivery, group, consumer, replay, follow };
}

/** `true`/`1` or `false`/`0`; `fallback` when absent, `undefined` when neither. */
function parseFlag(value: string | null, fallback: boolean): boolean | undefined {
  if (value === null || value === "") return fallback;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  return undefined;
}

function isFailure(result: Principal | AuthFailure): result is AuthFailure {
  return "message" in result;
}

function unauthorized(failure: AuthFailure): Response {
  return errorResponse(401, "invalid_auth", failure.message, {
    "www-authenticate": 'Bearer error="invalid_token"',
  });
}

function forbidden(scope: string, name: string): Response {
  return errorResponse(403, "forbidden", `scope ${scope} is required for ${name}`);
}

function methodNotAllowed(allow: string): Response {
  return errorResponse(405, "method_not_allowed", `use ${allow}`, { allow });
}
