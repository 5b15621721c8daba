/**
 * `@bus/integration`: the runtime Bus integration workers are built on.
 *
 * What a worker author needs, in the order the README introduces it:
 *
 * - {@linkcode EventsClient} publishes events and streams them (NDJSON or
 *   Server-Sent Events) over `fetch`: the HTTP {@linkcode EventTransport}.
 *   Every layer above it takes any transport (NATS JetStream is
 *   `@bus/integration/nats`).
 * - {@linkcode runWorker} runs the worker loop: events through a pipeline of
 *   {@linkcode HandlerMiddleware}s to a handler that replies through a
 *   {@linkcode Publisher}, with bounded concurrency, retries, dead letters,
 *   idempotency keys, reconnects with backoff, {@linkcode ListenerReadiness},
 *   settlement and a graceful drain.
 * - {@linkcode defineWorker} declares a worker for a {@linkcode Host} (or the
 *   `bus-integration host` command), which runs many on one transport with
 *   health, readiness and metrics endpoints.
 * - {@linkcode Requester} makes correlated requests: `request()` for one
 *   answer, `gather()` for many.
 * - The errors, each with a `name` to branch on: {@linkcode ResponseError},
 *   {@linkcode RequestTimeoutError}, {@linkcode AuthError}, {@linkcode ConfigError}, …
 *
 * The stream decoders live in `@bus/integration/decode`, the reference server
 * and test helpers in `@bus/integration/testing`. The same code runs on Deno,
 * Node and Bun; the library never configures logging (it logs through
 * LogTape under the `bus-integration` category).
 *
 * @example Publish an event
 * ```ts ignore
 * import { EventsClient } from "@bus/integration";
 *
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * await client.publish({ name: "example.ping", payload: { hello: "world" } });
 * ```
 *
 * @module
 */

export {
  EventsClient,
  type EventsClientOptions,
  type FetchLike,
  type TokenProvider,
} from "./src/client.ts";
export {
  DEFAULT_DRAIN_TIMEOUT,
  ORDERING_BACKLOG_PER_SLOT,
  runWorker,
  TELEMETRY_RECHECK,
  type WorkerHandler,
  type WorkerOptions,
} from "./src/worker.ts";
export {
  assertRegistration,
  defineWorker,
  type ListenerRegistration,
  type RegistrationBase,
  type RunRegistration,
  runRegistration,
  type RunRegistrationOptions,
  type WorkerContext,
  type WorkerLogger,
  type WorkerRegistration,
} from "./src/registration.ts";
export {
  type GatherOptions,
  Requester,
  type RequesterOptions,
  type RequesterStats,
  type RequestOptions,
} from "./src/requester.ts";
export {
  type EventSchemas,
  type InferSchemaInput,
  type InferSchemaOutput,
  InvalidResponseError,
  MAX_ISSUE_TEXT,
  MAX_LISTED_ISSUES,
  type PayloadOf,
  type ReplyOf,
  type ResponseOf,
  type SchemaIssue,
  type SchemaResult,
  type StandardSchema,
  type StandardSchemaProps,
  type TypedEnvelope,
} from "./src/schema.ts";
export {
  type GatheredResponse,
  type GatherResultOf,
  type TypedGatherResult,
} from "./src/response_schema.ts";
export { INVALID_PAYLOAD, INVALID_REPLY } from "./src/handling/validate.ts";
export { Host, type HostOptions } from "./src/host.ts";
export {
  AuthError,
  BadRequestError,
  BODY_EXCERPT_LIMIT,
  ConfigError,
  describeError,
  EventsApiError,
  type EventsApiErrorOptions,
  GatherTimeoutError,
  NonRetryableError,
  type NonRetryableErrorOptions,
  RequesterClosedError,
  RequestTimeoutError,
  ResponseError,
  type ResponseErrorBody,
  StreamProtocolError,
  type StreamProtocolErrorOptions,
  TransientError,
  type TransientErrorOptions,
} from "./src/errors.ts";
export { RegistrationError } from "./src/errors.ts";
export { type Publisher, type PublishInit } from "./src/publisher.ts";
export {
  assertEventName,
  ENVELOPE_VERSION,
  type EventEnvelope,
  eventNameProblem,
  MAX_EVENT_NAME_LENGTH,
  responseNameFor,
  withEnvelopeDefaults,
} from "./src/envelope.ts";
export type {
  Delivery,
  EventSubscription,
  EventTransport,
  PublishOptions,
  PublishResult,
  Settlement,
  StreamOptions,
} from "./src/transport.ts";
export type { EventStream } from "./src/event_stream.ts";
export type { HandlerMiddleware } from "./src/handling/compose.ts";
export type { HandlerContext } from "./src/handling/context.ts";
export { HANDLER_FAILED } from "./src/handling/error_reply.ts";
export {
  DEFAULT_RETRY_DELAY,
  DEFAULT_RETRY_MAX_DELAY,
  type RetryBackoff,
  type RetryOptions,
} from "./src/handling/retry_policy.ts";
export {
  DEAD_LETTER_SUFFIX,
  type DeadLetterError,
  deadLetterNameFor,
  type DeadLetterOptions,
  type DeadLetterPayload,
} from "./src/handling/dead_letter.ts";
export {
  redrive,
  type RedrivenDeadLetter,
  type RedriveOptions,
  type RedriveResult,
} from "./src/redrive.ts";
export { HANDLER_TIMEOUT, HandlerTimeoutError } from "./src/handling/handler_timeout.ts";
export type { Secrets } from "./src/secrets.ts";
export {
  DEFAULT_IDEMPOTENCY_TTL,
  IDEMPOTENCY_UNAVAILABLE,
  type IdempotencyOptions,
  IdempotencyUnavailableError,
} from "./src/handling/idempotency.ts";
export {
  DEFAULT_IDEMPOTENCY_ENTRIES,
  IDEMPOTENCY_KEY,
  type IdempotencyClaim,
  type IdempotencyOutcome,
  type IdempotencyStore,
  MemoryIdempotencyStore,
  type MemoryIdempotencyStoreOptions,
  type RecordedReply,
} from "./src/idempotency_store.ts";
export type { DropInfo, LossyOptions } from "./src/lossy.ts";
export { type RecentDeadLetter, WorkerStats } from "./src/handling/stats.ts";
export { type NameMetrics, ProcessMetrics } from "./src/handling/metrics.ts";
export {
  type HostLiveness,
  type HostReport,
  type HostStatus,
  type RegistrationReport,
  type RegistrationState,
} from "./src/health.ts";
export {
  type AddOptions,
  aggregateReadiness,
  type AnyListener,
  ListenerReadiness,
  ReadinessChangeEvent,
  type RemoveOptions,
} from "./src/readiness.ts";
export {
  type EventSettler,
  listen,
  listenAll,
  type ListenAllOptions,
  type ListenEventContext,
  type ListenOptions,
  type ListenPolicy,
  type ListenStreamOptions,
} from "./src/listener.ts";
export { listenResponses, type ListenResponsesOptions } from "./src/response_listener.ts";
export type { GatherResult } from "./src/pending.ts";
export { Backoff, DEFAULT_RECONNECT, type ReconnectOptions } from "./src/reconnect.ts";
export { delay } from "./src/async.ts";
export {
  type ClientEnvLookupOptions,
  type ClientEnvOptions,
  clientOptionsFromEnv,
  type ListenerEnvOptions,
  listenerOptionsFromEnv,
  parseBoolean,
} from "./src/env/contract.ts";
export { parseGoDuration } from "./src/env/duration.ts";
export type {
  InvalidInput,
  InvalidInputHandler,
  InvalidInputKind,
  StreamFraming,
} from "./src/decode/types.ts";
