/**
 * Typed events through Standard Schema: the types that turn a worker's
 * `schema` into its handler's payload and reply types, checking that a
 * value is a Standard Schema, running one without an `await` when it
 * answers synchronously, and the bounded text of its issues. Any library
 * that implements the spec works (zod, valibot, arktype, …); this module
 * depends on none of them.
 *
 * The types below are the library's own statement of the Standard Schema
 * v1 interface (`@standard-schema/spec`), so that its documentation is
 * complete; `tests/schema_types_test.ts` proves them interchangeable with
 * the spec's `StandardSchema`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventEnvelope } from "./envelope.ts";

/**
 * A Standard Schema (v1): what zod, valibot, arktype and other schema
 * libraries expose under the `~standard` key.
 *
 * @typeParam Input The type the schema accepts.
 * @typeParam Output The type validation produces.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  /** The spec's properties. */
  readonly "~standard": StandardSchemaProps<Input, Output>;
}

/** The `~standard` properties of a {@linkcode StandardSchema}. */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  /** The spec's version: 1. */
  readonly version: 1;
  /** The schema library, e.g. `zod`. */
  readonly vendor: string;
  /** Validates a value; synchronously or with a promise. */
  readonly validate: (
    value: unknown,
    options?: { readonly libraryOptions?: Record<string, unknown> | undefined } | undefined,
  ) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
  /** The types, for inference only (never set at runtime). */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/** What `validate()` returns: the output, or the issues (a falsy `issues` is success). */
export type SchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly SchemaIssue[] };

/** One problem a schema found. */
export interface SchemaIssue {
  /** What is wrong, in the schema library's words. */
  readonly message: string;
  /** Where: keys from the root, each plain or as `{ key }`. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The type a schema accepts (`z.input`, `v.InferInput`). */
export type InferSchemaInput<S extends StandardSchema> = NonNullable<
  S["~standard"]["types"]
>["input"];

/** The type a schema's validation produces (`z.output`, `v.InferOutput`). */
export type InferSchemaOutput<S extends StandardSchema> = NonNullable<
  S["~standard"]["types"]
>["output"];

/**
 * The `schema` of a worker or registration: what its events' payloads and
 * its replies must look like.
 *
 * @example A payload and a reply schema with zod
 * ```ts
 * import type { EventSchemas } from "@bus/integration";
 * import { z } from "zod";
 *
 * const schema = {
 *   payload: z.object({ a: z.number(), b: z.number() }),
 *   reply: z.object({ sum: z.number() }),
 * } satisfies EventSchemas;
 * ```
 */
export interface EventSchemas {
  /**
   * Checks each event's payload before the handler runs. The handler gets
   * the schema's output (defaults and transforms applied); an event that
   * does not match is answered `invalid_payload` and dead-lettered, never
   * retried.
   */
  payload?: StandardSchema | undefined;
  /**
   * Checks each `publisher.reply()`, which takes the schema's input and
   * publishes its output. A reply that does not match is not published:
   * the requester gets `invalid_reply`.
   */
  reply?: StandardSchema | undefined;
}

/** The payload type a handler gets under `S`: the payload schema's output, else `unknown`. */
export type PayloadOf<S extends EventSchemas> = S["payload"] extends StandardSchema
  ? InferSchemaOutput<S["payload"]>
  : unknown;

/** What `publisher.reply()` takes under `S`: the reply schema's input, else `unknown`. */
export type ReplyOf<S extends EventSchemas> = S["reply"] extends StandardSchema
  ? InferSchemaInput<S["reply"]>
  : unknown;

/**
 * The envelope a handler gets: `payload` typed `Payload`. For `unknown`
 * (no payload schema) it is the plain {@linkcode EventEnvelope}.
 */
export type TypedEnvelope<Payload> = unknown extends Payload ? EventEnvelope
  : EventEnvelope & { payload: Payload };

/** What a response resolves with under `S`: the schema's output, else `unknown`. */
export type ResponseOf<S extends StandardSchema | undefined> = S extends StandardSchema
  ? InferSchemaOutput<S>
  : unknown;

/** Most issues a message (an error response, a log line, an error) lists; the rest are counted. */
export const MAX_LISTED_ISSUES = 10;
/** Longest issue message (and issue path) a listing keeps, in characters; longer ones are cut. */
export const MAX_ISSUE_TEXT = 200;

/**
 * Throws a `TypeError` unless `schema` is `undefined` or a Standard Schema
 * of version 1 (an object with `~standard.validate`).
 *
 * @param schema The value to check.
 * @param where Starts the message, e.g. `Cannot run worker: schema.payload`.
 */
export function assertSchema(
  schema: unknown,
  where: string,
): asserts schema is StandardSchema | undefined {
  if (schema === undefined) return;
  const props = (typeof schema === "object" || typeof schema === "function") && schema !== null
    ? (schema as Partial<StandardSchema>)["~standard"]
    : undefined;
  if (props === undefined || props === null || typeof props.validate !== "function") {
    throw new TypeError(
      `${where} is not a Standard Schema (no ~standard.validate): use a library that implements it, such as zod >= 3.24, valibot >= 1 or arktype >= 2`,
    );
  }
  if (props.version !== 1) {
    throw new TypeError(
      `${where} implements Standard Schema version ${String(props.version)}, expected 1`,
    );
  }
}

/**
 * Throws a `TypeError` unless `schemas` is `undefined` or an object whose
 * `payload` and `reply` are each absent or a Standard Schema.
 *
 * @param schemas The `schema` option to check.
 * @param where Starts each message, e.g. `Cannot run worker`.
 */
export function assertEventSchemas(
  schemas: unknown,
  where: string,
): asserts schemas is EventSchemas | undefined {
  if (schemas === undefined) return;
  if (typeof schemas !== "object" || schemas === null || Array.isArray(schemas)) {
    throw new TypeError(`${where}: schema is not an object such as { payload, reply }`);
  }
  const { payload, reply } = schemas as Record<string, unknown>;
  assertSchema(payload, `${where}: schema.payload`);
  assertSchema(reply, `${where}: schema.reply`);
}

/**
 * Validates `value` with `schema` and hands the result to `then`: at once,
 * with no `await` and no extra microtask, when the schema answers
 * synchronously; after awaiting it when it answers with a promise.
 *
 * @param schema A checked Standard Schema.
 * @param value The value to validate.
 * @param then What to do with the result.
 * @returns What `then` returns, or a promise of it for an async schema.
 */
export function validateThen<R>(
  schema: StandardSchema,
  value: unknown,
  then: (result: SchemaResult<unknown>) => R,
): R | Promise<R> {
  const result = schema["~standard"].validate(value);
  return isPromiseLike(result)
    ? Promise.resolve(result).then((settled) => then(wellFormed(settled)))
    : then(wellFormed(result));
}

/**
 * One line listing `issues`, each as `path: message`, `prefix` leading each
 * path (`payload.items[0].name: Expected string`): at most
 * {@linkcode MAX_LISTED_ISSUES} issues, each path and message cut at
 * {@linkcode MAX_ISSUE_TEXT} characters, the rest counted
 * (`(and 3 more issues)`).
 *
 * It never throws, whatever a schema put in its issues: they mean the value
 * failed, and failing to describe them must not turn that into an error of
 * another kind (a retried handler failure, a rejected gather). An issue that
 * is not an object is shown as its text, a `path` that is not an array as
 * the root, and what cannot be shown at all as `(unprintable)`.
 *
 * @param issues The schema's issues.
 * @param prefix The root of every path, e.g. `payload` or `reply`.
 */
export function describeIssues(
  issues: readonly SchemaIssue[],
  prefix: string,
): string {
  if (issues.length === 0) return `${prefix}: the schema reported no issue`;
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => describeIssue(issue, prefix));
  const more = issues.length - listed.length;
  return listed.join("; ") + (more > 0 ? ` (and ${more} more issue${more === 1 ? "" : "s"})` : "");
}

/** One issue as `path: message`; never throws (see {@linkcode describeIssues}). */
function describeIssue(issue: unknown, prefix: string): string {
  try {
    if (typeof issue !== "object" || issue === null) {
      return `${cut(prefix)}: ${cut(textOf(issue))}`;
    }
    const { path, message } = issue as { path?: unknown; message?: unknown };
    return `${cut(prefix + issuePath(path as SchemaIssue["path"]))}: ${cut(textOf(message))}`;
  } catch {
    // A getter on the issue threw.
    return `${cut(prefix)}: ${UNPRINTABLE}`;
  }
}

/**
 * An issue's path as property access: `.items[0].name`; keys that are not
 * identifiers are quoted (`["content-type"]`). Empty for the root, and for
 * a path that is not an array. Never throws.
 */
export function issuePath(path: SchemaIssue["path"]): string {
  if (!Array.isArray(path)) return "";
  let text = "";
  for (const segment of path as readonly unknown[]) {
    text += segmentText(segment);
    // Deep paths stop growing once they are past what a listing keeps.
    if (text.length > MAX_ISSUE_TEXT) break;
  }
  return text;
}

/** One path segment, plain or `{ key }`, as property access. */
function segmentText(segment: unknown): string {
  try {
    const key = typeof segment === "object" && segment !== null
      ? (segment as { key?: unknown }).key
      : segment;
    if (typeof key === "string") {
      return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    }
    if (typeof key === "number" || typeof key === "bigint") return `[${key}]`;
    return `[${textOf(key)}]`;
  } catch {
    return `[${UNPRINTABLE}]`;
  }
}

/** `String(value)`, or {@linkcode UNPRINTABLE} when that throws (`Object.create(null)`, a throwing `toString`). */
function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    return UNPRINTABLE;
  }
}

/** Stands for what a schema reported that cannot be turned into text. */
const UNPRINTABLE = "(unprintable)";

/**
 * A response did not match the `schema` its request (or gather) gave. The
 * response itself arrived and counts as answered in the requester's stats.
 *
 * @example Tell a mismatching response from an error response
 * ```ts
 * import { InvalidResponseError, Requester, ResponseError } from "@bus/integration";
 * import { z } from "zod";
 *
 * export async function sum(requester: Requester): Promise<number | undefined> {
 *   try {
 *     const { sum } = await requester.request("example.add.request", { a: 1, b: 2 }, {
 *       schema: z.object({ sum: z.number() }),
 *     });
 *     return sum;
 *   } catch (error) {
 *     if (error instanceof InvalidResponseError) console.error(error.issues);
 *     else if (error instanceof ResponseError) console.error(error.code);
 *     else throw error;
 *     return undefined;
 *   }
 * }
 * ```
 */
export class InvalidResponseError extends Error {
  /** Correlation ID of the request the response answered. */
  readonly correlationId: string;
  /** `source` of the response, where known (gather); `undefined` for `request()`. */
  readonly source: string | undefined;
  /** Every issue the schema reported (the message lists the first few). */
  readonly issues: readonly SchemaIssue[];

  /** Creates the error. */
  constructor(
    correlationId: string,
    issues: readonly SchemaIssue[],
    source?: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot accept the response to ${correlationId}${
        source === undefined ? "" : ` from ${source}`
      }: it does not match the schema: ${describeIssues(issues, "payload")}`,
      options,
    );
    this.name = "InvalidResponseError";
    this.correlationId = correlationId;
    this.source = source;
    this.issues = issues;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** `result`, once it is known to be a Standard Schema result: `{ value }` or `{ issues }`. */
function wellFormed(result: unknown): SchemaResult<unknown> {
  if (typeof result !== "object" || result === null) {
    throw new TypeError(
      `Cannot validate: the schema's validate() returned ${
        String(result)
      }, expected { value } or { issues }`,
    );
  }
  const { issues } = result as { issues?: unknown };
  if (issues && !Array.isArray(issues)) {
    throw new TypeError(
      "Cannot validate: the schema's validate() returned issues that are not an array",
    );
  }
  return result as SchemaResult<unknown>;
}

function cut(text: string): string {
  return text.length > MAX_ISSUE_TEXT ? `${text.slice(0, MAX_ISSUE_TEXT - 1)}…` : text;
}
