/**
 * HS256 bearer tokens for the reference Events API server: minting them for
 * tests and checking them on every request, as the real server does.
 *
 * @module
 */

import { errors, jwtVerify, SignJWT } from "jose";

/** Options of {@linkcode EventsApi.mintToken}. */
export interface MintTokenOptions {
  /**
   * The identity; the server stamps it as `identity_id` on published events.
   *
   * @default {"test-user"}
   */
  sub?: string;
  /**
   * Scopes granted, written as the space-separated `scope` claim.
   *
   * @default {["events:send", "events:listen"]}
   */
  scopes?: string[];
  /**
   * Lifetime in seconds from now; a negative value mints an expired token.
   *
   * @default {3600}
   */
  ttlSeconds?: number;
}

/** Who made a request and what it may do. */
export interface Principal {
  /** The token's `sub`, or `"anonymous"` when auth is off. */
  readonly identity: string;
  /** Scopes granted; `undefined` when auth is off and everything is allowed. */
  readonly scopes: ReadonlySet<string> | undefined;
}

/** Why a request was refused: `401 invalid_auth`. */
export interface AuthFailure {
  /** Human-readable reason; never contains the token. */
  readonly message: string;
}

/** How many verified tokens are remembered. */
const VERIFIED_CACHE_SIZE = 1024;

/** Default scopes of a minted token: enough to publish and to listen. */
export const DEFAULT_SCOPES: readonly string[] = ["events:send", "events:listen"];

/**
 * Signs and verifies the bearer tokens of one server instance. With auth
 * off, every request is `"anonymous"` with every scope, and minted tokens
 * are still real JWTs so client code paths stay the same.
 */
export class TokenAuthority {
  readonly #key: Uint8Array;
  readonly #audience: string;
  readonly #enabled: boolean;
  /**
   * Tokens already verified, until their `exp`: a signature check costs more
   * than the rest of a publish, and clients send the same token every time.
   */
  readonly #verified = new Map<string, { principal: Principal; expiresAt: number }>();

  /** Creates the authority; without a `secret`, a random one is generated. */
  constructor(options: { enabled: boolean; secret?: string | undefined; audience: string }) {
    this.#enabled = options.enabled;
    this.#audience = options.audience;
    this.#key = options.secret === undefined
      ? crypto.getRandomValues(new Uint8Array(32))
      : new TextEncoder().encode(options.secret);
  }

  /** Signs a token this authority accepts (unless it has expired). */
  async mint(options: MintTokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const ttl = options.ttlSeconds ?? 3600;
    return await new SignJWT({ scope: (options.scopes ?? DEFAULT_SCOPES).join(" ") })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(options.sub ?? "test-user")
      .setAudience(this.#audience)
      // An expired token must also have been issued before it expired.
      .setIssuedAt(Math.min(now, now + ttl - 1))
      .setExpirationTime(now + ttl)
      .sign(this.#key);
  }

  /** Checks the request's `Authorization: Bearer` token. */
  async authenticate(request: Request): Promise<Principal | AuthFailure> {
    if (!this.#enabled) return { identity: "anonymous", scopes: undefined };
    const header = request.headers.get("authorization");
    if (header === null) return { message: "missing Authorization header" };
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (match === null || match[1] === undefined) {
      return { message: "Authorization header is not a Bearer token" };
    }
    const token = match[1];
    const cached = this.#verified.get(token);
    if (cached !== undefined && Date.now() < cached.expiresAt) return cached.principal;
    this.#verified.delete(token);
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ["HS256"],
        audience: this.#audience,
        requiredClaims: ["exp"],
      });
      if (typeof payload.sub !== "string" || payload.sub === "") {
        return { message: "token has no sub claim" };
      }
      const principal = { identity: payload.sub, scopes: scopesOf(payload) };
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
        this.#verified.delete(this.#verified.keys().next().value!);
      }
      this.#verified.set(token, { principal, expiresAt: payload.exp! * 1000 });
      return principal;
    } catch (error) {
      return { message: describeJoseError(error, this.#audience) };
    }
  }
}

/** Whether `principal` holds `scope`; with auth off everything is allowed. */
export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes === undefined || principal.scopes.has(scope);
}

/**
 * The scope a publish (`"write"`) or stream (`"read"`) of `name` needs: the
 * longest matching prefix of `resourceScopes`, else the generic
 * `events:send` / `events:listen`.
 */
export function requiredScope(
  name: string,
  access: "read" | "write",
  resourceScopes: Readonly<Record<string, { read: string; write: string }>>,
): string {
  let bestPrefix: string | undefined;
  for (const prefix of Object.keys(resourceScopes)) {
    if (
      name.startsWith(prefix) && (bestPrefix === undefined || prefix.length > bestPrefix.length)
    ) {
      bestPrefix = prefix;
    }
  }
  const resource = bestPrefix === undefined ? undefined : resourceScopes[bestPrefix];
  if (resource !== undefined) return resource[access];
  return access === "write" ? "events:send" : "events:listen";
}

/** Scopes from the space-separated `scope` claim and/or a `scopes` array. */
function scopesOf(payload: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string") {
      for (const scope of value.split(/\s+/)) if (scope !== "") scopes.add(scope);
    } else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === "string" && item !== "") scopes.add(item);
    }
  };
  add(payload.scope);
  add(payload.scopes);
  return scopes;
}

/** A short reason for a failed verification; jose's own texts stay inside. */
function describeJoseError(error: unknown, audience: string): string {
  if (error instanceof errors.JWTExpired) return "token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return `token audience is not ${audience}`;
    return `token claim ${error.claim} is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "token algorithm is not HS256";
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "token signature is invalid";
  }
  return "token is malformed";
}
