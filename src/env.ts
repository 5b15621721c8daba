/**
 * The shared environment contract of Bus integrations: listener retry,
 * readiness and token-refresh switches, the Events API URL and where the API
 * token comes from. Durations use Go's `time.ParseDuration` syntax because
 * the same variables configure the Go services.
 *
 * Every bad value is a {@linkcode ConfigError} naming the variable and the
 * value, except that a token is never shown. An empty variable counts as
 * unset, as in shells where `VAR=` is the usual way to clear it.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { homeDir, readEnv, readTextFile } from "./runtime.ts";

const RETRY = "BUS_EVENTS_LISTENER_RETRY";
const RETRY_MIN = "BUS_EVENTS_LISTENER_RETRY_MIN";
const RETRY_MAX = "BUS_EVENTS_LISTENER_RETRY_MAX";
const REQUIRED = "BUS_EVENTS_LISTENER_REQUIRED";
const TOKEN_REFRESH = "BUS_EVENTS_TOKEN_REFRESH";
const API_URL = "BUS_EVENTS_API_URL";
const API_TOKEN = "BUS_API_TOKEN";
const API_TOKEN_FILE = "BUS_API_TOKEN_FILE";

// A Map, not an object literal: a unit such as "constructor" must not find
// Object.prototype. Both micro signs are Go's (U+00B5 and U+03BC).
const NANOSECONDS = new Map<string, number>([
  ["ns", 1],
  ["us", 1e3],
  ["\u00b5s", 1e3],
  ["\u03bcs", 1e3],
  ["ms", 1e6],
  ["s", 1e9],
  ["m", 60e9],
  ["h", 3600e9],
]);
const MAX_NANOSECONDS = 2n ** 63n - 1n; // Go's time.Duration is an int64
const FRACTION_LIMIT = MAX_NANOSECONDS / 10n;
const COMPONENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * Parses a duration in Go's `time.ParseDuration` syntax into milliseconds:
 * one or more decimal numbers, each with an optional fraction and a unit
 * among `ns`, `us` (or `µs`), `ms`, `s`, `m` and `h`, e.g. `300ms`, `1.5h`,
 * `1m30s`. A bare `0` needs no unit. The arithmetic is Go's, in whole
 * nanoseconds, so `1us` is `0.001` and every value Go accepts means the same
 * here.
 *
 * @param text The duration, e.g. `"1m30s"`.
 * @returns The duration in milliseconds, possibly fractional.
 * @throws {TypeError} When `text` is not a Go duration.
 * @throws {RangeError} When it is negative (a sign is valid Go, but a
 * negative wait means nothing here) or beyond Go's limit of about 292 years.
 *
 * @example Go's documented examples
 * ```ts
 * import { parseGoDuration } from "@bus/integration";
 * parseGoDuration("1m30s"); // 90000
 * parseGoDuration("1.5h"); // 5400000
 * ```
 */
export function parseGoDuration(text: string): number {
  let rest = text;
  const sign = rest[0];
  if (sign === "-" || sign === "+") rest = rest.slice(1);
  if (rest === "0") return 0;
  if (rest === "") throw durationSyntaxError(text, "expected a number with a unit, e.g. 1m30s");
  let total = 0n;
  while (rest !== "") {
    const [component = "", whole = "", fraction, unit = ""] = COMPONENT.exec(rest) ?? [];
    if (whole === "" && !fraction) {
      throw durationSyntaxError(text, "expected a number with a unit, e.g. 1m30s");
    }
    const unitNanoseconds = NANOSECONDS.get(unit);
    if (unitNanoseconds === undefined) {
      throw durationSyntaxError(
        text,
        `${unit === "" ? "missing unit" : `unknown unit ${JSON.stringify(unit)}`}, ` +
          "expected one of ns, us, µs, ms, s, m, h",
      );
    }
    total += BigInt(whole || "0") * BigInt(unitNanoseconds) +
      fractionNanoseconds(fraction ?? "", unitNanoseconds);
    rest = rest.slice(component.length);
  }
  if (sign === "-" && total !== 0n) {
    throw new RangeError(`Cannot use duration ${JSON.stringify(text)}: expected 0 or more`);
  }
  if (total > MAX_NANOSECONDS) {
    throw new RangeError(
      `Cannot use duration ${JSON.stringify(text)}: expected at most 2562047h47m16.854775807s`,
    );
  }
  return Number(total) / 1e6;
}

/**
 * Go's `leadingFraction` and its float step, so rounding matches Go to the
 * nanosecond: digits past the int64 range are ignored, and the product is
 * truncated.
 */
function fractionNanoseconds(digits: string, unitNanoseconds: number): bigint {
  let value = 0n;
  let scale = 1;
  for (const digit of digits) {
    const next = value * 10n + BigInt(digit);
    if (value > FRACTION_LIMIT || next > MAX_NANOSECONDS + 1n) break;
    value = next;
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(value) * (unitNanoseconds / scale)));
}

function durationSyntaxError(text: string, expected: string): TypeError {
  return new TypeError(`Cannot parse duration ${JSON.stringify(text)}: ${expected}`);
}

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
   * `_MAX`), or `false` when `BUS_EVENTS_LISTENER_RETRY` is off.
   *
   * @default {{ min: 1000, max: 30000 }}
   */
  reconnect: { min: number; max: number } | false;
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
 * // { reconnect: { min: 250, max: 30000 }, required: true, tokenRefresh: false }
 * ```
 */
export function listenerOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = readEnv(),
): ListenerEnvOptions {
  const reconnect = booleanVariable(env, RETRY, true);
  const min = durationVariable(env, RETRY_MIN, "1s");
  const max = durationVariable(env, RETRY_MAX, "30s");
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
    reconnect: reconnect && { min: min.milliseconds, max: max.milliseconds },
    required,
    tokenRefresh,
  };
}

/** A variable's value, with `""` read as unset. */
function lookup(env: Readonly<Record<string, string | undefined>>, name: string) {
  const value = env[name];
  return value === "" ? undefined : value;
}

function booleanVariable(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: boolean,
): boolean {
  const value = lookup(env, name);
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
  const value = lookup(env, name);
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
  env: Readonly<Record<string, string | undefined>> = readEnv(),
  options: ClientEnvLookupOptions = {},
): Promise<ClientEnvOptions> {
  const baseUrl = baseUrlFromEnv(env);
  const envToken = lookup(env, API_TOKEN);
  if (envToken !== undefined) {
    const token = validToken(envToken);
    if (token === undefined) {
      throw new ConfigError(API_TOKEN, "[redacted]", TOKEN_FORM);
    }
    return { baseUrl, token, tokenSource: `env ${API_TOKEN}` };
  }
  const explicitFile = options.tokenFile !== undefined
    ? { variable: "tokenFile", value: options.tokenFile, path: options.tokenFile }
    : fileFromVariable(env);
  const file = explicitFile ?? await configRootFile(env);
  try {
    await readTokenFile(file);
  } catch (error) {
    // Only the config root is optional: a file someone named must exist.
    if (explicitFile === undefined && isMissingFile(error)) {
      throw new ConfigError(
        API_TOKEN,
        undefined,
        `a token in ${API_TOKEN}, in a file named by ${API_TOKEN_FILE}, or in ${file.path}`,
      );
    }
    throw error;
  }
  return { baseUrl, token: () => readTokenFile(file), tokenSource: `file ${file.path}` };
}

const URL_FORM = "an http(s) URL, e.g. https://bus.example.test or " +
  "https://bus.example.test/api/v1/events";
const TOKEN_FORM = "one token of printable ASCII characters without spaces";

function baseUrlFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const value = lookup(env, API_URL);
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

/** A token file and the setting that led to it, for error messages. */
interface TokenFile {
  /** The variable or option that chose the file. */
  variable: string;
  /** That variable's value, as given. */
  value: string | undefined;
  /** The file itself. */
  path: string;
}

function fileFromVariable(
  env: Readonly<Record<string, string | undefined>>,
): TokenFile | undefined {
  const value = lookup(env, API_TOKEN_FILE);
  return value === undefined ? undefined : { variable: API_TOKEN_FILE, value, path: value };
}

async function configRootFile(env: Readonly<Record<string, string | undefined>>) {
  const roots = [
    ["BUS_CONFIG_DIR", "auth/api-token"],
    ["XDG_CONFIG_HOME", "bus/auth/api-token"],
    ["HOME", ".config/bus/auth/api-token"],
  ] as const;
  for (const [variable, relative] of roots) {
    const value = lookup(env, variable);
    if (value !== undefined) return { variable, value, path: joinPath(value, relative) };
  }
  // No HOME (e.g. some service managers): ask the OS, as `~` would.
  return {
    variable: "HOME",
    value: undefined,
    path: joinPath(await homeDir(), ".config/bus/auth/api-token"),
  };
}

/** Joins with `/`, which Windows file APIs accept too; no `node:path` needed. */
function joinPath(directory: string, relative: string): string {
  return `${directory.replace(/[\\/]+$/, "")}/${relative}`;
}

async function readTokenFile(file: TokenFile): Promise<string> {
  let text: string;
  try {
    text = await readTextFile(file.path);
  } catch (cause) {
    throw new ConfigError(
      file.variable,
      file.value,
      `a readable token file at ${file.path} (${errorCode(cause)})`,
      { cause },
    );
  }
  const trimmed = text.trim();
  if (trimmed === "") {
    throw new ConfigError(file.variable, file.value, `a non-empty token file at ${file.path}`);
  }
  const token = validToken(trimmed);
  if (token === undefined) {
    throw new ConfigError(
      file.variable,
      file.value,
      `a token file at ${file.path} holding ${TOKEN_FORM}`,
    );
  }
  return token;
}

/**
 * The trimmed token, or `undefined` when it could not go into an
 * `Authorization` header; `fetch` would otherwise fail later with a message
 * that may quote the header, token and all.
 */
function validToken(text: string): string | undefined {
  const token = text.trim();
  return /^[\x21-\x7e]+$/.test(token) ? token : undefined;
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === "string" ? code : error.name;
  }
  return String(error);
}

function isMissingFile(error: unknown): boolean {
  return error instanceof ConfigError && error.cause instanceof Error &&
    (error.cause as Error & { code?: unknown }).code === "ENOENT";
}
