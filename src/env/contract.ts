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
import { redactedUrl } from "../dialed_url.ts";
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
// Ours, not the Go services': their client has no such bound.
const IDLE_TIMEOUT = "BUS_EVENTS_STREAM_IDLE_TIMEOUT";
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
 * | `BUS_EVENTS_LISTENER_RETRY_MIN` | Go duration above 0, at most `596h31m23.647s` | `1s` |
 * | `BUS_EVENTS_LISTENER_RETRY_MAX` | Go duration, at least MIN, at most `596h31m23.647s` | `30s` |
 * | `BUS_EVENTS_LISTENER_HEALTHY_AFTER` | Go duration | `10s` |
 * | `BUS_EVENTS_LISTENER_REQUIRED` | boolean | `1` |
 * | `BUS_EVENTS_TOKEN_REFRESH` | boolean | `0` |
 *
 * The bounds are checked even when reconnecting is off, so a typo never
 * waits silently for the day it is turned on. They drive a timer, so they
 * stop at 2^31 − 1 ms (about 24.8 days), the longest wait a timer takes.
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
  const min = durationVariable(env, RETRY_MIN, "1s", TIMER_LIMIT);
  const max = durationVariable(env, RETRY_MAX, "30s", TIMER_LIMIT);
  // Compared with the clock, never a timer's delay: Go's own limit is enough.
  const healthyAfter = durationVariable(env, HEALTHY_AFTER, "10s", GO_LIMIT);
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

/** A bound on a duration variable, in ms and as a Go duration for messages. */
interface DurationLimit {
  /** The longest duration accepted, in ms. */
  readonly milliseconds: number;
  /** What the message says it is, e.g. `596h31m23.647s (…)`. */
  readonly text: string;
}

/**
 * The longest wait a timer takes: 2^31 − 1 ms (about 24.8 days). Timers keep
 * their delay as a signed 32-bit integer on every runtime, and a longer one
 * fires at once, so a reconnect bound above it would be a hot reconnect
 * loop rather than a long wait (the same limit as `MAX_TIMER_DELAY` in
 * `../async.ts`).
 */
const TIMER_LIMIT: DurationLimit = {
  milliseconds: 2_147_483_647,
  text: "596h31m23.647s (2147483647 ms, the longest a timer can wait)",
};

/** Go's own limit (`time.Duration` is an int64 of ns), which `parseGoDuration` enforces. */
const GO_LIMIT: DurationLimit = {
  milliseconds: Number.MAX_VALUE,
  text: "2562047h47m16.854775807s",
};

function durationVariable(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: string,
  limit: DurationLimit,
): { milliseconds: number; text: string; isDefault: boolean } {
  const value = lookupVariable(env, name);
  const text = value ?? fallback;
  // One message for every way it can be wrong (syntax, sign, size), saying the real range.
  const expected = `a Go duration from 0 to ${limit.text}, e.g. 500ms, 1s or 1m30s`;
  let milliseconds: number;
  try {
    milliseconds = parseGoDuration(text);
  } catch (cause) {
    throw new ConfigError(name, text, expected, { cause });
  }
  if (milliseconds > limit.milliseconds) throw new ConfigError(name, text, expected);
  return { milliseconds, text, isDefault: value === undefined };
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
  /**
   * The client's `idleTimeout` in ms from `BUS_EVENTS_STREAM_IDLE_TIMEOUT`
   * (a Go duration; `0` or unset: no bound).
   */
  idleTimeout?: number | undefined;
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
 * It also reads the client's `idleTimeout` from
 * `BUS_EVENTS_STREAM_IDLE_TIMEOUT` (a Go duration up to `596h31m23.647s`;
 * `0` or unset for none).
 *
 * A token file is read once here to fail at startup, then on every call of
 * the returned provider. Its content is trimmed; it must hold one token of
 * printable ASCII without spaces.
 *
 * @param env The environment; the process environment when omitted.
 * @param options Where else to look for the token.
 * @throws {ConfigError} When the URL is unset or not http(s), when
 * `BUS_EVENTS_STREAM_IDLE_TIMEOUT` is not a duration in range, when a token
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
  const idleTimeout = idleTimeoutFromEnv(env);
  const token = await findToken(env, TOKEN_SOURCES, options?.tokenFile);
  return idleTimeout === undefined ? { baseUrl, ...token } : { baseUrl, ...token, idleTimeout };
}

/**
 * `BUS_EVENTS_STREAM_IDLE_TIMEOUT` in ms, or `undefined` for no bound (unset
 * or `0`). A part of a millisecond counts as one, so `400us` is a bound,
 * not none.
 */
function idleTimeoutFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const { milliseconds } = durationVariable(env, IDLE_TIMEOUT, "0s", TIMER_LIMIT);
  return milliseconds === 0 ? undefined : Math.ceil(milliseconds);
}

const URL_FORM = "an http(s) URL, e.g. https://bus.example.test or " +
  "https://bus.example.test/api/v1/events";

/**
 * The Events API URL, checked. Every message shows the value through
 * `redactedUrl`, whether it parses or not: a typo in the port must not
 * print the password before it.
 */
function baseUrlFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const value = lookupVariable(env, API_URL);
  const problem = value === undefined ? URL_FORM : eventsUrlProblem(value);
  if (problem !== undefined) {
    // Unset or empty (`env[API_URL]` is then undefined or ""): nothing to redact.
    throw new ConfigError(
      API_URL,
      value === undefined ? env[API_URL] : redactedUrl(value),
      problem,
    );
  }
  return value!;
}

/**
 * What is wrong with `value` as the Events API URL (what it should be
 * instead), or `undefined` when it is fine. Shared by `BUS_EVENTS_API_URL`
 * and the command line's `--events-url`.
 *
 * A query or fragment is refused rather than shown or dropped:
 * `EventsClient` sends neither, so a `?access_token=…` would silently not
 * be used, and the requests would fail with 401s that never say why.
 */
export function eventsUrlProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return URL_FORM;
  const url = new URL(value);
  if (url.protocol !== "http:" && url.protocol !== "https:") return URL_FORM;
  if (url.username !== "" || url.password !== "") {
    return `a URL without credentials (give the token in ${API_TOKEN} or a token file)`;
  }
  if (url.search !== "" || url.hash !== "" || value.includes("?") || value.includes("#")) {
    return "a URL without a query or fragment: the Events API client sends neither " +
      `(give the token in ${API_TOKEN} or a token file)`;
  }
  return undefined;
}
