/**
 * The CLI's configuration: command-line flags over the environment contract
 * over defaults, resolved once, with where each value came from. The token
 * stays inside `client`; `shown` holds only what may be printed.
 *
 * This module is browser compatible (it reads the environment it is given).
 *
 * @module
 */

import {
  type ClientEnvOptions,
  clientOptionsFromEnv,
  type ListenerEnvOptions,
  listenerOptionsFromEnv,
} from "../env/contract.ts";
import { ConfigError } from "../errors.ts";
import type { CommonFlags, LogFormat, LogLevelName } from "./args.ts";
import { shownTransport, type TransportConfig, transportFromEnv } from "./transport.ts";

/** One printable setting and where it came from. */
export interface ConfigEntry {
  /** The value; the token is always `"[redacted]"`. */
  value: string | number | boolean | null;
  /** e.g. `--events-url`, `env BUS_EVENTS_API_URL`, `file /path`, `default`. */
  source: string;
}

/** Everything the `host` command runs with. */
export interface ResolvedConfig {
  /**
   * Events API URL and token (secret: never print this object). Reading it
   * with `BUS_TRANSPORT=nats` throws a `ConfigError`: nothing configured it.
   */
  readonly client: ClientEnvOptions;
  /** Which transport, and the NATS settings when it is NATS (secret: never print it). */
  readonly transport: TransportConfig;
  /** Listener reconnect, readiness and token-refresh settings. */
  readonly listener: ListenerEnvOptions;
  /** Where to serve `/healthz` and `/readyz`, if anywhere. */
  readonly health: { hostname: string; port: number } | undefined;
  /** Log record format on stderr. */
  readonly logFormat: LogFormat;
  /** Lowest level logged. */
  readonly logLevel: LogLevelName;
  /** The settings as they may be shown, keyed by name, token redacted. */
  readonly shown: Readonly<Record<string, ConfigEntry>>;
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_HEALTH_HOST = "127.0.0.1";

/**
 * Resolves the configuration. `--events-url` replaces `BUS_EVENTS_API_URL`;
 * `--token-file` wins over `BUS_API_TOKEN` and `BUS_API_TOKEN_FILE`, because
 * a flag is the more explicit choice.
 *
 * @throws {ConfigError} Naming the first bad variable or flag (never the token).
 */
export async function resolveConfig(flags: CommonFlags, env: Env): Promise<ResolvedConfig> {
  const effective: Record<string, string | undefined> = { ...env };
  if (flags.eventsUrl !== undefined) effective.BUS_EVENTS_API_URL = flags.eventsUrl;
  if (flags.tokenFile !== undefined) {
    delete effective.BUS_API_TOKEN;
    delete effective.BUS_API_TOKEN_FILE;
  }
  const listener = listenerOptionsFromEnv(effective);
  const transport = await transportFromEnv(effective);
  let client: ClientEnvOptions | undefined;
  try {
    // NATS has its own URL and credentials: the Events API ones are not needed.
    client = transport.kind === "nats" ? undefined : await clientOptionsFromEnv(
      effective,
      flags.tokenFile !== undefined ? { tokenFile: flags.tokenFile } : {},
    );
  } catch (error) {
    // env/token_sources.ts names an explicit file by its option, `tokenFile`: here, the flag.
    // What it expected keeps the reason (empty, ENOENT, EISDIR), as for BUS_API_TOKEN_FILE.
    if (error instanceof ConfigError && error.variable === "tokenFile") {
      throw new ConfigError("--token-file", error.value, expectedOf(error), { cause: error });
    }
    throw error;
  }
  const fromEnv = (name: string) => env[name] !== undefined && env[name] !== "";
  const source = (name: string) => fromEnv(name) ? `env ${name}` : "default";
  const health = flags.healthPort === undefined
    ? undefined
    : { hostname: flags.healthHost ?? DEFAULT_HEALTH_HOST, port: flags.healthPort };
  const logFormat = flags.logFormat ?? "text";
  const logLevel = flags.logLevel ?? "info";
  const shown: Record<string, ConfigEntry> = {
    ...shownTransport(transport, env),
    ...client && {
      eventsUrl: {
        value: client.baseUrl,
        source: flags.eventsUrl !== undefined ? "--events-url" : "env BUS_EVENTS_API_URL",
      },
      token: {
        value: "[redacted]",
        source: flags.tokenFile !== undefined
          ? `--token-file ${flags.tokenFile}`
          : client.tokenSource,
      },
      streamIdleTimeoutMs: {
        value: client.idleTimeout ?? null,
        source: source("BUS_EVENTS_STREAM_IDLE_TIMEOUT"),
      },
    },
    tokenRefresh: { value: listener.tokenRefresh, source: source("BUS_EVENTS_TOKEN_REFRESH") },
    reconnect: { value: listener.reconnect !== false, source: source("BUS_EVENTS_LISTENER_RETRY") },
    reconnectMinMs: {
      value: listener.reconnect === false ? null : listener.reconnect.min,
      source: source("BUS_EVENTS_LISTENER_RETRY_MIN"),
    },
    reconnectMaxMs: {
      value: listener.reconnect === false ? null : listener.reconnect.max,
      source: source("BUS_EVENTS_LISTENER_RETRY_MAX"),
    },
    reconnectHealthyAfterMs: {
      value: listener.reconnect === false ? null : listener.reconnect.healthyAfter,
      source: source("BUS_EVENTS_LISTENER_HEALTHY_AFTER"),
    },
    required: { value: listener.required, source: source("BUS_EVENTS_LISTENER_REQUIRED") },
    healthHost: {
      value: health?.hostname ?? null,
      source: flags.healthHost !== undefined
        ? "--health-host"
        : health
        ? "default"
        : "default (no health port)",
    },
    healthPort: {
      value: health?.port ?? null,
      source: health ? "--health-port" : "default (off)",
    },
    logFormat: { value: logFormat, source: flags.logFormat ? "--log-format" : "default" },
    logLevel: { value: logLevel, source: flags.logLevel ? "--log-level" : "default" },
  };
  const resolved = { transport, listener, health, logFormat, logLevel, shown };
  if (client !== undefined) return { ...resolved, client };
  return Object.defineProperty(resolved, "client", {
    get(): never {
      throw new ConfigError(
        "BUS_TRANSPORT",
        "nats",
        "http for a command that needs the Events API",
      );
    },
  }) as ResolvedConfig;
}

/**
 * The `expected …` part of a `ConfigError`'s message, for the same error
 * under another name: cut after the prefix its constructor wrote, which is
 * known exactly, so a path holding ", expected " cannot mislead it.
 */
function expectedOf(error: ConfigError): string {
  const value = error.value === undefined ? "unset" : JSON.stringify(error.value);
  const prefix = `Cannot use ${error.variable}: current value is ${value}, expected `;
  return error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : "a readable file holding one token";
}

/** The shown settings as aligned `name  value  (source)` lines. */
export function formatConfigText(shown: Readonly<Record<string, ConfigEntry>>): string {
  const rows = Object.entries(shown).map(([name, entry]) => [
    name,
    entry.value === null ? "-" : String(entry.value),
    entry.source,
  ]);
  const nameWidth = Math.max(...rows.map(([name]) => name!.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value!.length));
  return rows
    .map(([name, value, from]) =>
      `${name!.padEnd(nameWidth)}  ${value!.padEnd(valueWidth)}  ${from}`
    )
    .join("\n");
}
