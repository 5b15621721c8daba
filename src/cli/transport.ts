/**
 * Which transport the CLI's commands run on: `BUS_TRANSPORT=http` (the
 * default, the Events API of `BUS_EVENTS_API_URL`) or `BUS_TRANSPORT=nats`
 * (NATS JetStream at `NATS_URL`, with the `NATS_*` / `BUS_NATS_*`
 * variables). The NATS code is imported only when it is chosen, so an HTTP
 * host never loads the NATS client.
 *
 * @module
 */

import { EventsClient } from "../client.ts";
import type { ClientEnvOptions } from "../env/contract.ts";
import { lookupVariable } from "../env/token_sources.ts";
import { ConfigError } from "../errors.ts";
import { withoutCredentials } from "../dialed_url.ts";
import { redactSecrets } from "../log_fields.ts";
import type { EventTransport } from "../transport.ts";
import type { NatsEnvOptions } from "../nats/env.ts";
import type { ConfigEntry } from "./config.ts";

/** The variable that picks the transport. */
export const TRANSPORT_VARIABLE = "BUS_TRANSPORT";

/** The transport settings the environment chose (secret: never print this object). */
export type TransportConfig =
  | { readonly kind: "http" }
  | { readonly kind: "nats"; readonly nats: NatsEnvOptions };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads `BUS_TRANSPORT` and, for `nats`, the NATS variables.
 *
 * @throws {ConfigError} When `BUS_TRANSPORT` is neither `http` nor `nats`,
 * or a NATS variable is bad.
 */
export async function transportFromEnv(env: Env): Promise<TransportConfig> {
  const value = lookupVariable(env, TRANSPORT_VARIABLE);
  if (value === undefined || value === "http") return { kind: "http" };
  if (value !== "nats") throw new ConfigError(TRANSPORT_VARIABLE, value, "http or nats");
  const { natsOptionsFromEnv } = await import("../nats/env.ts");
  return { kind: "nats", nats: await natsOptionsFromEnv(env) };
}

/** The transport's settings as `config` shows them: no credential, only where it came from. */
export function shownTransport(transport: TransportConfig, env: Env): Record<string, ConfigEntry> {
  const source = (name: string) =>
    lookupVariable(env, name) === undefined ? "default" : `env ${name}`;
  const kind = { value: transport.kind, source: source(TRANSPORT_VARIABLE) };
  if (transport.kind === "http") return { transport: kind };
  const { nats } = transport;
  return {
    transport: kind,
    natsServers: { value: nats.servers.join(","), source: "env NATS_URL" },
    natsCredentials: {
      value: nats.credentialsSource === "none" ? null : "[redacted]",
      source: nats.credentialsSource === "none" ? "none" : nats.credentialsSource,
    },
    natsStream: { value: nats.stream ?? "BUS_EVENTS", source: source("BUS_NATS_STREAM") },
    natsSubjectPrefix: {
      value: nats.subjectPrefix ?? "bus.events",
      source: source("BUS_NATS_SUBJECT_PREFIX"),
    },
    natsAckWaitMs: { value: nats.ackWait ?? 30_000, source: source("BUS_NATS_ACK_WAIT") },
    natsMaxDeliver: { value: nats.maxDeliver ?? 5, source: source("BUS_NATS_MAX_DELIVER") },
    natsMaxAgeMs: { value: nats.maxAge ?? 604_800_000, source: source("BUS_NATS_MAX_AGE") },
  };
}

/** How many tokens {@linkcode KnownSecrets} keeps: the current one and a few it rotated from. */
const KEPT_SECRETS = 4;

/**
 * The secrets the command handed its transport (the API token, the last
 * ones a token file's provider returned; a NATS token or password), so that
 * logs, `/readyz` and listings can redact them even where an error text the
 * library did not write (a handler's) quotes one. `EventsClient` does not
 * expose its token, so the command keeps what it read itself.
 */
export class KnownSecrets {
  readonly #secrets = new Set<string>();

  /** Remembers `secret` as the newest; the oldest beyond a few is forgotten. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret === "") return;
    this.#secrets.delete(secret);
    this.#secrets.add(secret);
    if (this.#secrets.size > KEPT_SECRETS) {
      this.#secrets.delete(this.#secrets.values().next().value!);
    }
  }

  /** The secrets known now, oldest first. */
  list(): string[] {
    return [...this.#secrets];
  }

  /** `text` without any of them. */
  redact(text: string): string {
    return redactSecrets(text, this.#secrets);
  }
}

/**
 * Opens the chosen transport: an `EventsClient` on `client`, or a
 * connection to NATS. Every secret it hands the transport goes into
 * `secrets`, a token provider's as each call returns it.
 *
 * @throws {AuthError} When the NATS server refuses the credentials.
 * @throws {TransientError} When no NATS server answers in time.
 */
export async function openTransport(
  transport: TransportConfig,
  client: () => ClientEnvOptions,
  userAgent: string,
  secrets: KnownSecrets = new KnownSecrets(),
): Promise<EventTransport> {
  if (transport.kind === "http") {
    const { baseUrl, token, idleTimeout } = client();
    return new EventsClient({
      baseUrl,
      token: rememberedToken(token, secrets),
      userAgent,
      ...idleTimeout !== undefined && { idleTimeout },
    });
  }
  const { connectNats } = await import("../nats/transport.ts");
  const { credentialsSource: _, ...options } = transport.nats;
  secrets.add(options.token);
  secrets.add(options.password);
  return await connectNats({ ...options, name: userAgent });
}

/** `token` as the client gets it: a provider whose every answer `secrets` learns. */
function rememberedToken(
  token: ClientEnvOptions["token"],
  secrets: KnownSecrets,
): ClientEnvOptions["token"] {
  if (typeof token === "string") {
    secrets.add(token);
    return token;
  }
  return async () => {
    const current = await token();
    secrets.add(current);
    return current;
  };
}

/** Where the host runs, for its first log line: the Events API URL or the NATS servers. */
export function transportTarget(
  transport: TransportConfig,
  client: () => ClientEnvOptions,
): string {
  // A URL may carry a user and password (`https://user:pw@…`): never into the log.
  return transport.kind === "http"
    ? withoutCredentials(client().baseUrl)
    : `NATS ${transport.nats.servers.map(withoutCredentials).join(",")}`;
}
