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

/**
 * Opens the chosen transport: an `EventsClient` on `client`, or a
 * connection to NATS.
 *
 * @throws {AuthError} When the NATS server refuses the credentials.
 * @throws {TransientError} When no NATS server answers in time.
 */
export async function openTransport(
  transport: TransportConfig,
  client: () => ClientEnvOptions,
  userAgent: string,
): Promise<EventTransport> {
  if (transport.kind === "http") {
    const { baseUrl, token } = client();
    return new EventsClient({ baseUrl, token, userAgent });
  }
  const { connectNats } = await import("../nats/transport.ts");
  const { credentialsSource: _, ...options } = transport.nats;
  return await connectNats({ ...options, name: userAgent });
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
