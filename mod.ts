/**
 * `@bus/integration`: the runtime Bus integration workers are built on.
 *
 * - {@linkcode EventsClient} publishes events and streams them (NDJSON or
 *   Server-Sent Events) over `fetch`.
 * - {@linkcode runWorker} runs the worker loop: events to a handler that
 *   replies through a {@linkcode Publisher}, with bounded concurrency,
 *   reconnects with backoff, {@linkcode ListenerReadiness} and a graceful
 *   drain.
 * - The stream decoders ({@linkcode SseParserStream},
 *   {@linkcode NdjsonParserStream}, {@linkcode EnvelopeDecoderStream}) are
 *   plain `TransformStream`s with bounded memory.
 *
 * The same code runs on Deno, Node and Bun; the library never configures
 * logging (it logs through LogTape under the `bus-integration` category).
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
  type Delivery,
  EventsClient,
  type EventsClientOptions,
  type FetchLike,
  type PublishOptions,
  type PublishResult,
  type StreamOptions,
  type TokenProvider,
} from "./src/client.ts";
export type { EventStream } from "./src/event_stream.ts";
export {
  assertEventName,
  ENVELOPE_VERSION,
  type EventEnvelope,
  eventNameProblem,
  MAX_EVENT_NAME_LENGTH,
  responseNameFor,
  withEnvelopeDefaults,
} from "./src/envelope.ts";
export {
  AuthError,
  BadRequestError,
  BODY_EXCERPT_LIMIT,
  ConfigError,
  EventsApiError,
  type EventsApiErrorOptions,
  GatherTimeoutError,
  RequestTimeoutError,
  ResponseError,
  type ResponseErrorBody,
  StreamProtocolError,
  TransientError,
  type TransientErrorOptions,
} from "./src/errors.ts";
export {
  DEFAULT_MAX_LINE_BYTES,
  type InvalidInput,
  type InvalidInputHandler,
  type LineLimitOptions,
  type SseMessage,
} from "./src/decode/types.ts";
export { type SseParserOptions, SseParserStream } from "./src/decode/sse.ts";
export { type NdjsonParserOptions, NdjsonParserStream } from "./src/decode/ndjson.ts";
export {
  type EnvelopeDecoderOptions,
  EnvelopeDecoderStream,
  framingForContentType,
  type StreamFraming,
} from "./src/decode/envelopes.ts";
export { Backoff, DEFAULT_RECONNECT, type ReconnectOptions } from "./src/reconnect.ts";
export { delay } from "./src/async.ts";
export {
  type AddOptions,
  aggregateReadiness,
  type AnyListener,
  ListenerReadiness,
  ReadinessChangeEvent,
  type RemoveOptions,
} from "./src/readiness.ts";
export {
  listen,
  listenAll,
  type ListenAllOptions,
  type ListenOptions,
  type ListenStreamOptions,
} from "./src/listener.ts";
export { type Publisher, type PublishInit } from "./src/publisher.ts";
export {
  HANDLER_FAILED,
  runWorker,
  type WorkerHandler,
  type WorkerOptions,
  WorkerStats,
} from "./src/worker.ts";
export {
  type ClientEnvLookupOptions,
  type ClientEnvOptions,
  clientOptionsFromEnv,
  type ListenerEnvOptions,
  listenerOptionsFromEnv,
  parseBoolean,
  parseGoDuration,
} from "./src/env.ts";
export { listenResponses, type ListenResponsesOptions } from "./src/response_listener.ts";
export type { GatherResult } from "./src/pending.ts";
export {
  type GatherOptions,
  Requester,
  type RequesterOptions,
  type RequesterStats,
  type RequestOptions,
} from "./src/requester.ts";
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
export { Host, type HostOptions } from "./src/host.ts";
export {
  type HostReport,
  type HostStatus,
  type RegistrationReport,
  type RegistrationState,
} from "./src/health.ts";
export { RegistrationError } from "./src/errors.ts";
