/**
 * Where the API token comes from: a variable, a token file someone named, or
 * the token file in an XDG-style config root under the home directory. The
 * variable names are the contract's (`./contract.ts` passes them in as
 * {@linkcode TokenSources}); this file knows how each place is read and
 * checked, and that a token is never shown in an error.
 *
 * @module
 */

import { ConfigError, TransientError } from "../errors.ts";
import { homeDir, readTextFile } from "../runtime.ts";

/**
 * A variable's value, with `""` read as unset, as in shells where `VAR=` is
 * the usual way to clear it. Every `BUS_*` variable is read through this.
 */
export function lookupVariable(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const value = env[name];
  return value === "" ? undefined : value;
}

/** The variables and paths {@linkcode findToken} looks in. */
export interface TokenSources {
  /** The variable holding the token itself, e.g. `BUS_API_TOKEN`. */
  readonly tokenVariable: string;
  /** The variable naming a token file, e.g. `BUS_API_TOKEN_FILE`. */
  readonly fileVariable: string;
  /** The variable naming the config root itself, e.g. `BUS_CONFIG_DIR`. */
  readonly configDirVariable: string;
  /** The config root's name under `$XDG_CONFIG_HOME` or `~/.config`, e.g. `bus`. */
  readonly configDirName: string;
  /** The token file inside the config root, e.g. `auth/api-token`. */
  readonly configFile: string;
}

/** A token as {@linkcode findToken} found it. */
export interface FoundToken {
  /**
   * The token from the variable, or for a token file a provider that
   * re-reads the file on every call, so a rotated file is picked up.
   */
  token: string | (() => Promise<string>);
  /** Where the token came from, e.g. `env BUS_API_TOKEN` or `file /path`; never the token. */
  tokenSource: string;
}

/**
 * Finds the API token in the first of: the token variable; the file
 * `tokenFile`, else the file the file variable names; the token file in the
 * first config root that is set (the config-dir variable, else
 * `$XDG_CONFIG_HOME/<name>`, else `$HOME/.config/<name>`, else the
 * operating system's home directory).
 *
 * A token file is read once here to fail at startup, then on every call of
 * the returned provider. Its content is trimmed; it must hold one token of
 * printable ASCII without spaces. Once that first read succeeded, the
 * provider rejects with a `TransientError` (code `token_unreadable`, its
 * cause the `ConfigError`) when the file is unreadable, empty or malformed:
 * a rotation in progress, which a listener retries.
 *
 * @param env The environment to read.
 * @param sources Which variables and paths to look in.
 * @param tokenFile A token file that takes the place of the file variable;
 * errors about it name the option `tokenFile`.
 * @throws {ConfigError} When the token variable is malformed, when a token
 * file is unreadable, empty or malformed (naming the path), or when no token
 * is found (naming every place looked in). The token itself is never shown.
 */
export async function findToken(
  env: Readonly<Record<string, string | undefined>>,
  sources: TokenSources,
  tokenFile: string | undefined,
): Promise<FoundToken> {
  const envToken = lookupVariable(env, sources.tokenVariable);
  if (envToken !== undefined) {
    const token = validToken(envToken);
    if (token === undefined) {
      throw new ConfigError(sources.tokenVariable, "[redacted]", TOKEN_FORM);
    }
    return { token, tokenSource: `env ${sources.tokenVariable}` };
  }
  const explicitFile = tokenFile !== undefined
    ? { variable: "tokenFile", value: tokenFile, path: tokenFile }
    : fileFromVariable(env, sources.fileVariable);
  const file = explicitFile ?? await configRootFile(env, sources);
  try {
    await readTokenFile(file);
  } catch (error) {
    // Only the config root is optional: a file someone named must exist.
    if (explicitFile === undefined && isMissingFile(error)) {
      throw new ConfigError(
        sources.tokenVariable,
        undefined,
        `a token in ${sources.tokenVariable}, in a file named by ${sources.fileVariable}, ` +
          `or in ${file.path}`,
      );
    }
    throw error;
  }
  return { token: () => rereadTokenFile(file), tokenSource: `file ${file.path}` };
}

/**
 * The provider's read of a token file that was read fine at start-up. A
 * failure now is a {@linkcode TransientError} (its cause the
 * `ConfigError`), not a configuration error: a rotation that is not atomic
 * (`printf %s "$NEW" > token` truncates first) or a secret being remounted
 * leaves the file empty or missing for a moment, and the listener should
 * retry with backoff, showing why on `/readyz`, rather than stop the host.
 */
async function rereadTokenFile(file: TokenFile): Promise<string> {
  try {
    return await readTokenFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new TransientError(
      `Cannot read the API token again: ${error.message}; retrying, as a rotation may be under way`,
      { cause: error, code: "token_unreadable" },
    );
  }
}

const TOKEN_FORM = "one token of printable ASCII characters without spaces";

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
  variable: string,
): TokenFile | undefined {
  const value = lookupVariable(env, variable);
  return value === undefined ? undefined : { variable, value, path: value };
}

async function configRootFile(
  env: Readonly<Record<string, string | undefined>>,
  sources: TokenSources,
): Promise<TokenFile> {
  const { configDirVariable, configDirName, configFile } = sources;
  const roots = [
    [configDirVariable, configFile],
    ["XDG_CONFIG_HOME", `${configDirName}/${configFile}`],
    ["HOME", `.config/${configDirName}/${configFile}`],
  ] as const;
  for (const [variable, relative] of roots) {
    const value = lookupVariable(env, variable);
    if (value !== undefined) return { variable, value, path: joinPath(value, relative) };
  }
  // No HOME (e.g. some service managers): ask the OS, as `~` would.
  return {
    variable: "HOME",
    value: undefined,
    path: joinPath(await homeDir(), `.config/${configDirName}/${configFile}`),
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
