/**
 * Wraps a transport-free byte parser in a `TransformStream` transformer.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** A push parser over bytes: the transport-free core of a decoder stream. */
export interface ByteParser {
  /** Parses one chunk; throws `StreamProtocolError` when a bound is exceeded. */
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
 *
 * A parser error that happens after the same chunk already produced output
 * is held back until the next chunk or the end: erroring a stream drops
 * whatever it still queues, and the output before the error must reach the
 * reader. The parser discards everything after its error, so holding it
 * back costs no memory.
 */
export function parserTransformer<O>(
  create: (controller: TransformStreamDefaultController<O>) => ByteParser,
  checkpoint: () => void = () => {},
): TransformerOf<Uint8Array, O> {
  let parser: ByteParser | undefined;
  let failed = false;
  let failure: unknown;
  return {
    start(controller) {
      parser = create(controller);
    },
    transform(chunk, controller) {
      checkpoint();
      if (failed) throw failure;
      try {
        (parser as ByteParser).feed(chunk);
      } catch (error) {
        // desiredSize is negative exactly when output of this chunk is still queued.
        if ((controller.desiredSize ?? 0) >= 0) throw error;
        failed = true;
        failure = error;
      }
    },
    flush() {
      checkpoint();
      if (failed) throw failure;
      (parser as ByteParser).end();
    },
    cancel() {
      checkpoint();
    },
  };
}
