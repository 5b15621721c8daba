/**
 * Wraps a transport-free byte parser in a `TransformStream` transformer.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** A push parser over bytes: the transport-free core of a decoder stream. */
export interface ByteParser {
  /** Parses one chunk; bad input is skipped and reported, never thrown. */
  feed(chunk: Uint8Array): void;
  /** Parses what is left at the end of the input. */
  end(): void;
}

/**
 * A `TransformStream` transformer. Spelled through the constructor rather
 * than the DOM lib's `Transformer`, which `@types/node` does not declare
 * globally: the npm build's declarations must type-check without the DOM lib.
 * `cancel` is added because `@types/node` 20 lacks it, though Node 20.20,
 * Node 24, Bun and Deno all call it (tests/cross_runtime checks the types).
 */
export type TransformerOf<I, O> =
  & NonNullable<ConstructorParameters<typeof TransformStream<I, O>>[0]>
  & { cancel?: (reason: unknown) => void | PromiseLike<void> };

/**
 * Builds the `Transformer` of a decoder stream around the parser that
 * `create` returns for the stream's controller. `checkpoint`, if given, runs
 * before each chunk, before the end and when the stream is aborted or
 * cancelled, while the readable side still tells how much output is unread.
 */
export function parserTransformer<O>(
  create: (controller: TransformStreamDefaultController<O>) => ByteParser,
  checkpoint: () => void = () => {},
): TransformerOf<Uint8Array, O> {
  let parser: ByteParser | undefined;
  return {
    start(controller) {
      parser = create(controller);
    },
    transform(chunk) {
      checkpoint();
      (parser as ByteParser).feed(chunk);
    },
    flush() {
      checkpoint();
      (parser as ByteParser).end();
    },
    cancel() {
      checkpoint();
    },
  };
}
