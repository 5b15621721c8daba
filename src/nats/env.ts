/**
 * The NATS part of the environment contract: where the servers are
 * (`NATS_URL`), how to log in (`NATS_TOKEN`, `NATS_USER` + `NATS_PASSWORD`,
 * `NATS_CREDS`, `NATS_NKEY`: the variables the `nats` command-line tool
 * reads too), and how events map onto JetStream (`BUS_NATS_*`).
 *
 * Every bad value is a {@linkcode ConfigError} naming the variable, with the
 * value shown except for secrets. An empty variable counts as unset.
 *
 * @module
 */

import { redactedUrl } from "../dialed_url.ts";
import { ConfigError } from "../errors.ts";
import { parseGoDuration } from "../env/duration.ts";
import { lookupVariable } from "../env/token_sources.ts";
import { readEnv, readTextFile } from "../runtime.ts";
import { connectionSettings } from "./connection.ts";
import { resolveTransportOptions } from "./options.ts";
import type { ConnectNatsOptions } from "./transport.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The variables {@linkcode natsOptionsFromEnv} reads. */
export const NATS_ENV = {
  url: "NATS_URL",
  token: "NATS_TOKEN",
  user: "NATS_USER",
  password: "NATS_PASSWORD",
  creds: "NATS_CREDS",
  nkey: "NATS_NKEY",
  stream: "BUS_NATS_STREAM",
  subjectPrefix: "BUS_NATS_SUBJECT_PREFIX",
  ackWait: "BUS_NATS_ACK_WAIT",
  maxDeliver: "BUS_NATS_MAX_DELIVER",
  maxAge: "BUS_NATS_MAX_AGE",
} as const;

/** What {@linkcode natsOptionsFromEnv} returns: `connectNats()`'s options, and where the login came from. */
export interface NatsEnvOptions extends ConnectNatsOptions {
  /** The servers, as a list. */
  servers: string[];
  /**
   * Where the credentials came from, e.g. `env NATS_TOKEN`, `file /run/x.creds`
   * or `none`; never a credential itself.
   */
  credentialsSource: string;
}

const SECRET = "[redacted]";

/** What each mapping variable must hold, for its `ConfigError`. */
const EXPECTED = {
  stream: "a JetStream stream name: letters, digits, '-' and '_'",
  subjectPrefix: "dot-separated subject tokens of letters, digits, '-' and '_', no wildcards",
  ackWait: "a Go duration from 1ms to 1193h2m47.294s (twice the longest a timer waits), e.g. 30s",
  maxDeliver: "a whole number from 1 to 9007199254740991",
  maxAge: "a Go duration, 0 for no limit, e.g. 168h",
} as const;

/** The text of the file a variable names, trimmed. */
async function fileVariable(env: Env, name: string, holds: string): Promise<string> {
  const path = lookupVariable(env, name)!;
  let text: string;
  try {
    text = (await readTextFile(path)).trim();
  } catch (cause) {
    throw new ConfigError(name, path, `a readable file holding ${holds}`, { cause });
  }
  if (text === "") throw new ConfigError(name, path, `a file holding ${holds}, not an empty one`);
  return text;
}

/** The one kind of credentials set, read. */
async function credentialsFromEnv(
  env: Env,
): Promise<
  Pick<NatsEnvOptions, "token" | "user" | "password" | "creds" | "nkeySeed"> & {
    source: string;
  }
> {
  const set = [NATS_ENV.token, NATS_ENV.user, NATS_ENV.creds, NATS_ENV.nkey].filter((name) =>
    lookupVariable(env, name) !== undefined
  );
  const password = lookupVariable(env, NATS_ENV.password);
  if (set.length > 1) {
    throw new ConfigError(
      set[1]!,
      set[1] === NATS_ENV.token ? SECRET : env[set[1]!],
      `unset while ${set[0]} is set: give one of NATS_TOKEN, NATS_USER and NATS_PASSWORD, ` +
        "NATS_CREDS or NATS_NKEY",
    );
  }
  const kind = set[0];
  if (kind !== NATS_ENV.user && password !== undefined) {
    throw new ConfigError(
      NATS_ENV.user,
      undefined,
      `a user name, since ${NATS_ENV.password} is set`,
    );
  }
  switch (kind) {
    case NATS_ENV.token:
      return { token: lookupVariable(env, kind)!, source: `env ${kind}` };
    case NATS_ENV.user:
      if (password === undefined) {
        throw new ConfigError(NATS_ENV.password, undefined, `the password of ${NATS_ENV.user}`);
      }
      return {
        user: lookupVariable(env, kind)!,
        password,
        source: `env ${NATS_ENV.user} and ${NATS_ENV.password}`,
      };
    case NATS_ENV.creds:
      return {
        creds: await fileVariable(env, kind, "a NATS .creds file"),
        source: `file ${env[kind]}`,
      };
    case NATS_ENV.nkey:
      return {
        nkeySeed: await fileVariable(env, kind, "an nkey seed"),
        source: `file ${env[kind]}`,
      };
    default:
      return { source: "none" };
  }
}

/**
 * A duration variable in whole milliseconds, or `undefined` when unset. A
 * positive duration under a millisecond is 1 ms, never 0 (which means "no
 * limit" to `maxAge`).
 */
function durationVariable(env: Env, name: string): number | undefined {
  const value = lookupVariable(env, name);
  if (value === undefined) return undefined;
  try {
    const ms = parseGoDuration(value);
    return ms > 0 ? Math.max(1, Math.round(ms)) : ms;
  } catch (cause) {
    throw new ConfigError(name, value, "a Go duration, e.g. 500ms, 30s or 168h", { cause });
  }
}

/** An integer variable, or `undefined` when unset. */
function integerVariable(env: Env, name: string): number | undefined {
  const value = lookupVariable(env, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, value, "a whole number, e.g. 5");
  return Number(value);
}

/**
 * `cause` (from `connectionSettings`) with every server it quotes redacted
 * as `NATS_URL` is shown: it quotes a server that does not parse as given,
 * user info and all, and the cause is printed with the error.
 */
function redactedCause(cause: unknown, servers: readonly string[]): unknown {
  if (!(cause instanceof Error)) return cause;
  let message = cause.message;
  for (const server of servers) message = message.split(server).join(redactedUrl(server));
  if (message === cause.message) return cause;
  const redacted = new (cause instanceof TypeError ? TypeError : Error)(message);
  redacted.name = cause.name;
  return redacted;
}

/**
 * Reads the NATS environment:
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `NATS_URL` | server URLs, comma-separated (`nats://`, `tls://`, `ws://`, `wss://`) | (required) |
 * | `NATS_TOKEN` | a token | |
 * | `NATS_USER`, `NATS_PASSWORD` | a user and its password | |
 * | `NATS_CREDS` | path of a `.creds` file (JWT and seed) | |
 * | `NATS_NKEY` | path of a file holding an nkey seed | |
 * | `BUS_NATS_STREAM` | JetStream stream name | `BUS_EVENTS` |
 * | `BUS_NATS_SUBJECT_PREFIX` | subject prefix | `bus.events` |
 * | `BUS_NATS_ACK_WAIT` | Go duration before an unsettled unicast event is redelivered | `30s` |
 * | `BUS_NATS_MAX_DELIVER` | deliveries of one unicast event at most | `5` |
 * | `BUS_NATS_MAX_AGE` | Go duration a created stream keeps events; `0` for no limit | `168h` |
 *
 * At most one kind of credentials may be set. Files are read once, here.
 *
 * @param env The environment; the process environment when omitted.
 * @throws {ConfigError} Naming the first bad variable (never showing a
 * token, password or seed).
 *
 * @example
 * ```ts
 * import { natsOptionsFromEnv } from "@bus/integration/nats";
 *
 * const options = await natsOptionsFromEnv({
 *   NATS_URL: "nats://127.0.0.1:4222",
 *   BUS_NATS_ACK_WAIT: "10s",
 * });
 * options.servers; // ["nats://127.0.0.1:4222"]
 * options.ackWait; // 10000
 * ```
 */
export async function natsOptionsFromEnv(
  env?: Readonly<Record<string, string | undefined>>,
): Promise<NatsEnvOptions> {
  env ??= readEnv();
  const url = lookupVariable(env, NATS_ENV.url);
  if (url === undefined) {
    throw new ConfigError(NATS_ENV.url, undefined, "a NATS server URL, e.g. nats://127.0.0.1:4222");
  }
  const servers = url.split(",").map((server) => server.trim()).filter((server) => server !== "");
  try {
    connectionSettings({ servers });
  } catch (cause) {
    throw new ConfigError(
      NATS_ENV.url,
      redactedUrl(url),
      "comma-separated nats://, tls://, ws:// or wss:// URLs of one kind, without credentials",
      { cause: redactedCause(cause, servers) },
    );
  }
  const { source, ...credentials } = await credentialsFromEnv(env);
  const mapping = {
    stream: lookupVariable(env, NATS_ENV.stream),
    subjectPrefix: lookupVariable(env, NATS_ENV.subjectPrefix),
    ackWait: durationVariable(env, NATS_ENV.ackWait),
    maxDeliver: integerVariable(env, NATS_ENV.maxDeliver),
    maxAge: durationVariable(env, NATS_ENV.maxAge),
  };
  for (const [option, value] of Object.entries(mapping)) {
    try {
      resolveTransportOptions({ [option]: value });
    } catch (cause) {
      const key = option as keyof typeof mapping;
      throw new ConfigError(NATS_ENV[key], env[NATS_ENV[key]], EXPECTED[key], { cause });
    }
  }
  const options: NatsEnvOptions = { servers, credentialsSource: source };
  for (const [key, value] of Object.entries({ ...credentials, ...mapping })) {
    if (value !== undefined) Object.assign(options, { [key]: value });
  }
  try {
    connectionSettings(options);
  } catch (cause) {
    // The seed or creds file held something else.
    const creds = credentials.creds !== undefined;
    const variable = creds ? NATS_ENV.creds : NATS_ENV.nkey;
    const holds = creds
      ? "the path of a .creds file (a JWT and an nkey seed)"
      : "the path of a file holding an nkey seed (SU…)";
    const reason = (cause as Error).message.replace(/^Cannot use [^:]*: /, "");
    throw new ConfigError(variable, env[variable], `${holds}, but ${reason}`, { cause });
  }
  return options;
}
