/**
 * The shared environment contract of Bus integrations: the `BUS_*` variable
 * names, what each means and its default: listener reconnect, readiness and
 * token-refresh switches, the Events API URL and where the API token comes
 * from. Durations use Go's syntax (`./duration.ts`); the token places are
 * read by `./token_sources.ts`.
 *
 * Every bad value is a {@linkcode ConfigError} naming the variable and the
 * value, except that a token is never shown. An empty variable counts as
 * unset, as in shells where `VAR=` is the usual way to clear it.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { readEnv } from "../runtime.ts";
import { parseGoDuration } from "./duration.ts";
import { findToken, lookupVariable, type TokenSources } from "./token_sources.ts";

// The variables keep the name RETRY (shared with the Go services) although
// the option they fill is `reconnect`: "retry" is the handler retry policy.
const RETRY = "BUS_EVENTS_LISTENER_RETRY";
const RETRY_MIN = "BUS_EVENTS_LISTENER_RETRY_MIN";
const RETRY_MAX = "BUS_EVENTS_LISTENER_RETRY_MAX";
const HEALTHY_AFTER = "BUS_EVENTS_LISTENER_HEALTHY_AFTER";
const REQUIRED = "BUS_EVENTS_LISTENER_REQUIRED";
const TOKEN_REFRESH = "BUS_EVENTS_TOKEN_REFRESH";
const API_URL = "BUS_EVENTS_API_URL";
const API_TOKEN = "BUS_API_TOKEN";
const API_TOKEN_FILE = "BUS_API_TOKEN_FILE";
const CONFIG_DIR = "BUS_CONFIG_DIR";

/** Where {@linkcode clientOptionsFromEnv} looks for the token, in order. */
const TOKEN_SOURCES: TokenSources = {
  tokenVariable: API_TOKEN,
  fileVariable: API_TOKEN_FILE,
  configDirVariable: CONFIG_DIR,
  configDirName: "bus",
  configFile: "auth/api-token",
};

/**
 * Parses a boolean of the environment contract: `1`, `0`, `true` or
 * `false`, in any letter case. Nothing else (`yes`, `on`, `2`, `""`): a typo
 * must fail loudly rather than flip a switch.
 *
 * @throws {TypeError} For any other text.
 */
export function parseBoolean(text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === "1" || lower === "true") return true;
  if (lower === "0" || lower === "false") return false;
  throw new TypeError(
    `Cannot parse boolean ${JSON.stringify(text)}: expected 1, 0, true or false`,
  );
}

/** Listener settings read by {@linkcode listenerOptionsFromEnv}. */
export interface ListenerEnvOptions {
  /**
   * Reconnect bounds in milliseconds (`BUS_EVENTS_LISTENER_RETRY_MIN` /
   * `_MAX`) and how long a connection must stay open to count as healthy
   * even when it delivered nothing (`BUS_EVENTS_LISTENER_HEALTHY_AFTER`), or
   * `false` when `BUS_EVENTS_LISTENER_RETRY` is off.
   *
   * @default {{ min: 1000, max: 30000, healthyAfter: 10000 }}
   */
  reconnect: { min: number; max: number; healthyAfter: number } | false;
  /**
   * Whether this listener gates readiness (`BUS_EVENTS_LISTENER_REQUIRED`).
   *
   * @default {true}
   */
  required: boolean;
  /**
   * Whether a 401/403 asks the token provider for a new token instead of
   * failing fast (`BUS_EVENTS_TOKEN_REFRESH`).
   *
   * @default {false}
   */
  tokenRefresh: boolean;
}

/**
 * Reads the shared listener environment contract:
 *
 * | variable | form | default |
 * |---|---|---|
 * | `BUS_EVENTS_LISTENER_RETRY` | `1`/`0`/`true`/`false` | `1` |
 * | `BUS_EVENTS_LISTENER_RETRY_MIN` | Go duration above 0 | `1s` |
 * | `BUS_EVENTS_LISTENER_RETRY_MAX` | Go duration, at least MIN | `30s` |
 * | `BUS_EVENTS_LISTENER_HEALTHY_AFTER` | Go duration | `10s` |
 * | `BUS_EVENTS_LISTENER_REQUIRED` | boolean | `1` |
 * | `BUS_EVENTS_TOKEN_REFRESH` | boolean | `0` |
 *
 * The bounds are checked even when reconnecting is off, so a typo never
 * waits silently for the day it is turned on.
 *
 * @param env The environment; the process environment when omitted.
 * @throws {ConfigError} Naming the first bad variable and its value.
 *
 * @example Reconnect sooner than the default
 * ```ts
 * import { listenerOptionsFromEnv } from "@bus/integration";
 * const options = listenerOptionsFromEnv({ BUS_EVENTS_LISTENER_RETRY_MIN: "250ms" });
 * // { reconnect: { min: 250, max: 30000, healthyAfter: 10000 },
 * //   required: true, tokenRefresh: false }
 * ```
 */
export function listenerOptionsFromEnv(
  env?: Readonly<Record<string, string | undefined>>,
): ListenerEnvOptions {
  env ??= readEnv();
  const reconnect = booleanVariable(env, RETRY, true);
  const min = durationVariable(env, RETRY_MIN, "1s");
  const max = durationVariable(env, RETRY_MAX, "30s");
  const healthyAfter = durationVariable(env, HEALTHY_AFTER, "10s");
  const required = booleanVariable(env, REQUIRED, true);
  const tokenRefresh = booleanVariable(env, TOKEN_REFRESH, false);
  if (min.milliseconds <= 0) {
    throw new ConfigError(RETRY_MIN, min.text, "a duration above 0, e.g. 500ms or 1s");
  }
  if (min.milliseconds > max.milliseconds) {
    // Blame the variable the user set: MIN unless MIN is the default.
    throw min.isDefault
      ? new ConfigError(RETRY_MAX, max.text, `a duration of at least ${RETRY_MIN} (default 1s)`)
      : new ConfigError(RETRY_MIN, min.text, `a duration of at most ${RETRY_MAX} (${max.text})`);
  }
  return {
    reconnect: reconnect && {
      min: min.milliseconds,
      max: max.milliseconds,
      healthyAfter: healthyAfter.milliseconds,
    },
    required,
    tokenRefresh,
  };
}

function booleanVariable(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: boolean,
): boolean {
  const value = lookupVariable(env, name);
  if (value === undefined) return fallback;
  try {
    return parseBoolean(value);
  } catch (cause) {
    throw new ConfigError(name, value, "1, 0, true or false", { cause });
  }
}

function durationVariable(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: string,
): { milliseconds: number; text: string; isDefault: boolean } {
  const value = lookupVariable(env, name);
  const text = value ?? fallback;
  try {
    return { milliseconds: parseGoDuration(text), text, isDefault: value === undefined };
  } catch (cause) {
    throw new ConfigError(name, text, "a non-negative Go duration, e.g. 500ms, 1s or 1m30s", {
      cause,
    });
  }
}

/** Events API client settings read by {@linkcode clientOptionsFromEnv}. */
export interface ClientEnvOptions {
  /** `BUS_EVENTS_API_URL` as given: the site root or the `/api/v1/events` URL. */
  baseUrl: string;
  /**
   * The token from `BUS_API_TOKEN`, or for a token file a provider that
   * re-reads the file on every call, so a rotated file is picked up.
   */
  token: string | (() => Promise<string>);
  /** Where the token came from, e.g. `env BUS_API_TOKEN` or `file /path`; never the token. */
  tokenSource: string;
}

/** Options of {@linkcode clientOptionsFromEnv}. */
export interface ClientEnvLookupOptions {
  /** A token file that takes the place of `BUS_API_TOKEN_FILE`. */
  tokenFile?: string | undefined;
}

/**
 * Reads the Events API URL and finds the API token. The token comes from the
 * first of:
 *
 * 1. `BUS_API_TOKEN`;
 * 2. the file `options.tokenFile`, else the file `BUS_API_TOKEN_FILE`;
 * 3. `auth/api-token` in the Bus config root, which is `$BUS_CONFIG_DIR`,
 *    else `$XDG_CONFIG_HOME/bus`, else `~/.config/bus`. Only the first root
 *    that is set is looked in, as with any XDG-style config directory.
 *
 * A token file is read once here to fail at startup, then on every call of
 * the returned provider. Its content is trimmed; it must hold one token of
 * printable ASCII without spaces.
 *
 * @param env The environment; the process environment when omitted.
 * @param options Where else to look for the token.
 * @throws {ConfigError} When the URL is unset or not http(s), when a token
 * file is unreadable, empty or malformed (naming the path), or when no token
 * is found (naming every place looked in). The token itself is never shown.
 *
 * @example Connect with the environment's settings
 * ```ts ignore
 * import { clientOptionsFromEnv, EventsClient } from "@bus/integration";
 *
 * const { baseUrl, token } = await clientOptionsFromEnv();
 * const client = new EventsClient({ baseUrl, token });
 * ```
 */
export async function clientOptionsFromEnv(
  env?: Readonly<Record<string, string | undefined>>,
  options?: ClientEnvLookupOptions,
): Promise<ClientEnvOptions> {
  env ??= readEnv();
  const baseUrl = baseUrlFromEnv(env);
  return { baseUrl, ...await findToken(env, TOKEN_SOURCES, options?.tokenFile) };
}

const URL_FORM = "an http(s) URL, e.g. https://bus.example.test or " +
  "https://bus.example.test/api/v1/events";

function baseUrlFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const value = lookupVariable(env, API_URL);
  if (value === undefined || !URL.canParse(value)) {
    throw new ConfigError(API_URL, env[API_URL], URL_FORM);
  }
  const url = new URL(value);
  if (url.username !== "" || url.password !== "") {
    // Rebuilt from parts so no spelling of the userinfo can leak a password.
    const shown = `${url.protocol}//[redacted]@${url.host}${url.pathname}`;
    throw new ConfigError(
      API_URL,
      shown,
      `a URL without credentials (give the token in ${API_TOKEN} or a token file)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(API_URL, value, URL_FORM);
  }
  return value;
}
