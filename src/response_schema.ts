/**
 * Typed responses: a requester's `schema` option applied to the payload of
 * a `request()`'s response, or to each response of a `gather()`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { EventEnvelope } from "./envelope.ts";
import type { ResponseErrorBody } from "./errors.ts";
import type { GatherResult } from "./pending.ts";
import {
  type InferSchemaOutput,
  InvalidResponseError,
  type StandardSchema,
  validateThen,
} from "./schema.ts";

/**
 * One response of a typed gather: an error response as it came, or a
 * success whose `payload` is the schema's output. Test `error` to tell.
 *
 * @typeParam Payload The schema's output type.
 */
export type GatheredResponse<Payload> =
  | (EventEnvelope & { error: ResponseErrorBody })
  | (EventEnvelope & { error?: undefined; payload: Payload });

/**
 * What a gather with a `schema` collected. A response that does not match
 * is reported here, per response, instead of failing the whole gather:
 * one faulty responder must not hide the answers of the others.
 *
 * @typeParam Payload The schema's output type.
 *
 * @example Gather typed quotes, and say who answered wrongly
 * ```ts
 * import type { Requester } from "@bus/integration";
 * import { z } from "zod";
 *
 * export async function cheapest(requester: Requester): Promise<number> {
 *   const { responses, invalid } = await requester.gather("example.quote.request", { sku: "tea" }, {
 *     expectedResponders: ["shop-a", "shop-b"],
 *     schema: z.object({ price: z.number() }),
 *   });
 *   for (const error of invalid) console.warn(error.source, error.issues);
 *   const prices = responses.flatMap((r) => r.error === undefined ? [r.payload.price] : []);
 *   return Math.min(...prices);
 * }
 * ```
 */
export interface TypedGatherResult<Payload> extends GatherResult {
  /**
   * Every response that arrived, in arrival order, but those in `invalid`:
   * error responses as they came, successes with the schema's output.
   */
  responses: Array<GatheredResponse<Payload>>;
  /** Successes whose payload did not match the schema, each with its issues and `source`. */
  invalid: InvalidResponseError[];
}

/** What a gather resolves with under `S`: typed with a schema, else the plain {@linkcode GatherResult}. */
export type GatherResultOf<S extends StandardSchema | undefined> = S extends StandardSchema
  ? TypedGatherResult<InferSchemaOutput<S>>
  : GatherResult;

/**
 * Settles a request whose response carried `payload`: resolves with the
 * schema's output, or rejects with an {@linkcode InvalidResponseError}
 * (or what the schema threw). Synchronous schemas settle at once.
 */
export function settleParsed(
  schema: StandardSchema,
  payload: unknown,
  correlationId: string,
  resolve: (value: unknown) => void,
  reject: (error: unknown) => void,
): void {
  try {
    const settled = validateThen(schema, payload, (result) => {
      if (result.issues) reject(new InvalidResponseError(correlationId, result.issues));
      else resolve(result.value);
    });
    if (settled instanceof Promise) settled.catch(reject);
  } catch (error) {
    reject(error);
  }
}

/**
 * Settles a gather: each success is checked against `schema`; matches keep
 * their place in `responses` with the schema's output, mismatches move to
 * `invalid`. Error responses are not checked. Resolves once every response
 * is checked (at once when the schema is synchronous); rejects only when
 * the schema itself throws.
 */
export function settleGathered(
  schema: StandardSchema,
  gathered: GatherResult,
  correlationId: string,
  resolve: (value: TypedGatherResult<unknown>) => void,
  reject: (error: unknown) => void,
): void {
  type Checked = GatheredResponse<unknown> | InvalidResponseError;
  const check = (response: EventEnvelope): Checked | Promise<Checked> => {
    if (response.error !== undefined) return response as GatheredResponse<unknown>;
    return validateThen(
      schema,
      response.payload,
      (result): Checked =>
        result.issues
          ? new InvalidResponseError(correlationId, result.issues, response.source)
          : { ...response, payload: result.value } as GatheredResponse<unknown>,
    );
  };
  const finish = (checked: readonly Checked[]) => {
    const responses: Array<GatheredResponse<unknown>> = [];
    const invalid: InvalidResponseError[] = [];
    for (const item of checked) {
      if (item instanceof InvalidResponseError) invalid.push(item);
      else responses.push(item);
    }
    resolve({ ...gathered, responses, invalid });
  };
  try {
    const checked = gathered.responses.map(check);
    if (checked.some((item) => item instanceof Promise)) {
      Promise.all(checked).then(finish, reject);
    } else {
      finish(checked as Checked[]);
    }
  } catch (error) {
    reject(error);
  }
}
