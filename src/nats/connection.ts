/**
 * Opening the NATS connection the transport owns: which servers, which
 * credentials, how long the first connect may take, and the runtime
 * transport (`nats://` / `tls://` over TCP, `ws://` / `wss://` over the
 * web-standard `WebSocket`). Every option is checked before anything
 * connects, and no message names a credential's value.
 *
 * @module
 */

import {
  type ConnectionOptions,
  credsAuthenticator,
  type NatsConnection as NatsCoreConnection,
  nkeyAuthenticator,
  nkeys,
  wsconnect,
} from "@nats-io/nats-core";
import { mapNatsError } from "./error_mapping.ts";
import { connectTcp } from "./tcp.ts";

/** nats.js's connection (`@nats-io/nats-core`), as `NatsTransportInit.connection` takes it. */
export type NatsConnection = NatsCoreConnection;

/** Where the NATS servers are and how to log in: the connection part of `connectNats()`'s options. */
export interface NatsConnectOptions {
  /**
   * One server URL or several: `nats://host:4222` or `tls://host:4222`
   * over TCP, or `ws://` / `wss://` over WebSocket (all of one kind). A URL
   * must not carry credentials; give them as the options below.
   */
  servers: string | readonly string[];
  /** A token the server accepts. */
  token?: string | undefined;
  /** A user name; needs `password`. */
  user?: string | undefined;
  /** The password of `user`. */
  password?: string | undefined;
  /** An nkey seed (`SU…`), for servers that authenticate users by nkey. */
  nkeySeed?: string | undefined;
  /** The text of a `.creds` file (user JWT and nkey seed), for operator-mode servers. */
  creds?: string | undefined;
  /**
   * The connection name the server shows in its monitoring.
   *
   * @default {"bus-integration"}
   */
  name?: string | undefined;
  /**
   * Longest wait for each server on the first connect, in ms; a server that
   * does not answer by then counts as unreachable.
   *
   * @default {10000}
   */
  connectTimeout?: number | undefined;
}

/** The checked connection settings: what nats.js gets, and what may be shown. */
export interface ConnectionSettings {
  /** The servers as given (they carry no credentials). */
  readonly servers: readonly string[];
  /** Whether the servers are `ws://` / `wss://` URLs. */
  readonly websocket: boolean;
  /** nats.js's options, credentials included: never log them. */
  readonly options: ConnectionOptions;
}

const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** What each accepted scheme means: TCP, TCP with TLS required, or WebSocket. */
const SCHEMES: ReadonlyMap<string, "tcp" | "tls" | "websocket"> = new Map([
  ["nats:", "tcp"],
  ["tls:", "tls"],
  ["ws:", "websocket"],
  ["wss:", "websocket"],
]);
// The two blocks of a .creds file, as nats.js reads them.
const CREDS_BLOCK = /-{3,}[^\n]*-{3,}\n[^\n]+\n\s*-{3,}[^\n]*-{3,}/g;

/** The servers as a list, and which kind they all are. */
function serverList(
  servers: NatsConnectOptions["servers"],
): { list: string[]; kind: "tcp" | "tls" | "websocket" } {
  const list: unknown[] = typeof servers === "string"
    ? [servers]
    : Array.isArray(servers)
    ? [...servers]
    : [];
  if (list.length === 0 || list.some((server) => typeof server !== "string")) {
    throw new TypeError("Cannot use servers: expected a server URL or a non-empty list of them");
  }
  const kinds = new Set<"tcp" | "tls" | "websocket">();
  for (const server of list as string[]) {
    const url = URL.canParse(server) ? new URL(server) : undefined;
    const kind = url && SCHEMES.get(url.protocol);
    if (url === undefined || kind === undefined) {
      throw new TypeError(
        `Cannot use servers: ${
          JSON.stringify(url ? `${url.protocol}//${url.host}` : server)
        } is not a nats://, tls://, ws:// or wss:// URL`,
      );
    }
    if (url.username !== "" || url.password !== "") {
      throw new TypeError(
        `Cannot use servers: ${url.protocol}//[redacted]@${url.host} carries credentials; ` +
          "give them as token, user and password, nkeySeed or creds",
      );
    }
    kinds.add(kind);
  }
  if (kinds.size > 1) {
    throw new TypeError(
      "Cannot use servers: they mix nats://, tls:// and ws(s):// URLs; use one kind",
    );
  }
  return { list: list as string[], kind: [...kinds][0]! };
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`Cannot use ${name}: expected a non-empty string`);
  }
  return value;
}

/** nats.js's credential options for the one kind of credentials given. */
function credentialOptions(options: NatsConnectOptions): ConnectionOptions {
  const token = optionalString("token", options.token);
  const user = optionalString("user", options.user);
  const password = optionalString("password", options.password);
  const nkeySeed = optionalString("nkeySeed", options.nkeySeed);
  const creds = optionalString("creds", options.creds);
  const kinds = [token, user ?? password, nkeySeed, creds].filter((kind) => kind !== undefined);
  if (kinds.length > 1) {
    throw new TypeError(
      "Cannot use credentials: give one of token, user and password, nkeySeed or creds",
    );
  }
  if ((user === undefined) !== (password === undefined)) {
    throw new TypeError("Cannot use credentials: user and password go together");
  }
  if (token !== undefined) return { token };
  if (user !== undefined && password !== undefined) return { user, pass: password };
  if (nkeySeed !== undefined) {
    const seed = new TextEncoder().encode(nkeySeed.trim());
    try {
      nkeys.fromSeed(seed);
    } catch {
      throw new TypeError("Cannot use nkeySeed: it is not an nkey seed");
    }
    return { authenticator: nkeyAuthenticator(seed) };
  }
  if (creds !== undefined) {
    if ((creds.match(CREDS_BLOCK) ?? []).length < 2) {
      throw new TypeError("Cannot use creds: it is not a NATS credentials file (JWT and seed)");
    }
    return { authenticator: credsAuthenticator(new TextEncoder().encode(creds)) };
  }
  return {};
}

/**
 * Checks the options and turns them into nats.js's.
 *
 * @throws {TypeError} On a bad server URL, credentials of more than one
 * kind, an incomplete user/password pair, or a seed or creds text that
 * cannot be read.
 * @throws {RangeError} When `connectTimeout` is not a positive integer.
 */
export function connectionSettings(options: NatsConnectOptions): ConnectionSettings {
  const { list: servers, kind } = serverList(options.servers);
  const timeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  if (!Number.isInteger(timeout) || timeout < 1) {
    throw new RangeError(
      `Cannot use connectTimeout: current value is ${timeout}, expected an integer of ms >= 1`,
    );
  }
  return {
    servers,
    websocket: kind === "websocket",
    options: {
      servers,
      // nats.js reads no scheme; tls:// asks it to insist on TLS.
      ...(kind === "tls" ? { tls: {} } : {}),
      name: optionalString("name", options.name) ?? "bus-integration",
      timeout,
      // A worker keeps trying for as long as it runs; the listener's
      // readiness tells the outside world.
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: false,
      // A stack trace captured per request costs more than the request here.
      noAsyncTraces: true,
      ...credentialOptions(options),
    },
  };
}

/**
 * Opens the connection: TCP for `nats://` and `tls://`, WebSocket for
 * `ws://` and `wss://`.
 *
 * @throws {TypeError} See {@linkcode connectionSettings}; also when the
 * servers are WebSocket URLs and the runtime has no `WebSocket` (Node 20).
 * @throws {AuthError} When the server refuses the credentials.
 * @throws {TransientError} When no server can be reached within `connectTimeout`.
 */
export async function openConnection(settings: ConnectionSettings): Promise<NatsConnection> {
  if (settings.websocket && typeof globalThis.WebSocket !== "function") {
    throw new TypeError(
      "Cannot connect over WebSocket: this runtime has no WebSocket (Node 20); use nats://",
    );
  }
  try {
    return await (settings.websocket ? wsconnect : connectTcp)(settings.options);
  } catch (error) {
    throw mapNatsError(error, `connect to NATS at ${settings.servers.join(", ")}`);
  }
}
