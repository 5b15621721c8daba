/**
 * `@bus/integration/decode`: the stream decoders `EventsClient` is built on,
 * for code that reads Bus event streams some other way (a saved NDJSON file,
 * a proxy, a custom transport). Each is a plain `TransformStream` with
 * bounded memory: a line or SSE field over `maxLineBytes` is skipped and
 * reported, never buffered whole.
 *
 * - {@linkcode EnvelopeDecoderStream}: bytes (NDJSON or SSE) → validated
 *   {@linkcode EventEnvelope}s, skipping and reporting what is not one.
 * - {@linkcode NdjsonParserStream}: bytes → one parsed JSON value per line.
 * - {@linkcode SseParserStream}: bytes → Server-Sent Events messages.
 * - {@linkcode framingForContentType}: which of the two a `Content-Type` is.
 * - {@linkcode EnvelopeParser}, {@linkcode NdjsonParser} and
 *   {@linkcode SseParser}: the same decoders as push parsers with callbacks,
 *   no stream in between — what `EventsClient` uses, and the fastest way to
 *   decode (see the benchmarks in `docs/benchmarks.md`).
 *
 * @example Decode an NDJSON body into envelopes
 * ```ts
 * import { EnvelopeDecoderStream } from "@bus/integration/decode";
 *
 * const body = new Response('{"id":"1","name":"example.ping","payload":{}}\nnot json\n').body!;
 * const skipped: string[] = [];
 * const envelopes = body.pipeThrough(
 *   new EnvelopeDecoderStream("ndjson", { onInvalid: (bad) => skipped.push(bad.kind) }),
 * );
 * for await (const envelope of envelopes) console.log(envelope.name); // example.ping
 * console.log(skipped); // ["invalid-json"]
 * ```
 *
 * @module
 */

export type { EventEnvelope } from "./src/envelope.ts";
export type { ResponseErrorBody } from "./src/errors.ts";
export {
  DEFAULT_MAX_LINE_BYTES,
  type InvalidInput,
  type InvalidInputHandler,
  type InvalidInputKind,
  type LineLimitOptions,
  type SseMessage,
  type StreamFraming,
} from "./src/decode/types.ts";
export {
  SseParser,
  type SseParserCallbacks,
  type SseParserOptions,
  SseParserStream,
} from "./src/decode/sse.ts";
export {
  NdjsonParser,
  type NdjsonParserCallbacks,
  type NdjsonParserOptions,
  NdjsonParserStream,
} from "./src/decode/ndjson.ts";
export { EnvelopeParser, type EnvelopeParserCallbacks } from "./src/decode/envelope_parser.ts";
export type { ByteParser } from "./src/decode/parser_stream.ts";
export {
  type EnvelopeDecoderOptions,
  EnvelopeDecoderStream,
} from "./src/decode/envelope_stream.ts";
export { framingForContentType } from "./src/content_type.ts";
