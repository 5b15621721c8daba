/**
 * What a failure's `cause` chain says in a few words, for logs, readiness
 * reasons and `/readyz`: the socket error under a failed `fetch`
 * (`ECONNREFUSED 127.0.0.1:8080`, `ENOTFOUND bus.example.test`), whichever
 * runtime reported it, or the deepest cause's `name: message`.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** How deep a `cause` chain is followed: far past any real one, short of a cycle. */
const MAX_DEPTH = 8;

/** Deno's and Bun's words for the socket errors Node names by code. */
const CODES_BY_TEXT: ReadonlyArray<readonly [RegExp, string]> = [
  [/connection refused|ConnectionRefused/i, "ECONNREFUSED"],
  [/connection reset|ConnectionReset/i, "ECONNRESET"],
  [/dns error|failed to lookup address|name or service not known|ENOTFOUND/i, "ENOTFOUND"],
  [/timed out|Timeout/i, "ETIMEDOUT"],
  [/host is unreachable|HostUnreachable/i, "EHOSTUNREACH"],
  [/network is unreachable|NetworkUnreachable/i, "ENETUNREACH"],
];

/**
 * A value that is not an `Error` as text: a string as it is, anything else
 * as JSON, or its string where JSON cannot say it (a cycle, a bigint, a
 * function, `undefined`). `String()` alone makes `[object Object]` of a
 * thrown `{ code }` or a Node `{ code, address }` cause.
 */
export function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A short description of what lies under `error`, or `undefined` when it
 * has no `cause` or its message quotes the cause already. A network
 * failure reads as its socket error code and address; any other cause as
 * the deepest cause's `name: message`.
 */
export function causeOf(error: unknown): string | undefined {
  const chain: unknown[] = [];
  let current = (error as { cause?: unknown } | undefined)?.cause;
  while (current !== undefined && current !== null && chain.length < MAX_DEPTH) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  if (chain.length === 0) return undefined;
  for (const link of chain) {
    const socket = socketError(link);
    if (socket !== undefined) return socket;
  }
  const deepest = chain[chain.length - 1];
  const said = deepest instanceof Error ? deepest.message : valueText(deepest);
  // A wrapper that quotes its cause's message (`orderingKey threw: …`) says it already.
  const outer = error instanceof Error ? error.message : "";
  if (said !== "" && outer.includes(said)) return undefined;
  return deepest instanceof Error ? `${deepest.name}: ${said}` : said;
}

/** `CODE host:port` of a socket-level failure, from Node's fields or Deno's and Bun's text. */
function socketError(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, address, port, hostname, message } = error as Record<string, unknown>;
  const text = typeof message === "string" ? message : "";
  // The fetch standard's "bad port" list (9, 25, 6000, …): refused before any socket opens.
  const blocked = /Requests to port (\d+) are blocked/.exec(text);
  if (blocked || text === "bad port") {
    return `blocked port${blocked ? ` ${blocked[1]}` : ""}: fetch refuses to dial it`;
  }
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) {
    if (typeof address === "string") {
      return `${code} ${address}${typeof port === "number" ? `:${port}` : ""}`;
    }
    return typeof hostname === "string" ? `${code} ${hostname}` : code;
  }
  const named = CODES_BY_TEXT.find(([pattern]) => pattern.test(text) || pattern.test(String(code)));
  if (named === undefined) return undefined;
  const target = targetIn(text) ??
    (typeof error === "object" && "path" in error
      ? targetIn(` (${String((error as { path: unknown }).path)})`)
      : undefined);
  return target === undefined ? named[1] : `${named[1]} ${target}`;
}

/** `host:port` of the first URL in parentheses in `text` (Deno's "for url (…)"), if any. */
function targetIn(text: string): string | undefined {
  const found = /\((https?:\/\/[^)\s]+)\)/.exec(text);
  if (found === null) return undefined;
  try {
    const url = new URL(found[1]!);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return `${url.hostname.replace(/^\[|\]$/g, "")}:${port}`;
  } catch {
    return undefined;
  }
}
