/**
 * The one JetStream stream every event lives in: created when missing (file
 * storage, limits retention, subjects `<prefix>.>`, the `maxAge` option), an
 * existing one used as it is once it is known to capture the prefix.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { nanos } from "@nats-io/nats-core";
import {
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream";
import { getLogger } from "@logtape/logtape";
import { ConfigError } from "../errors.ts";
import { isMissingResource } from "./error_mapping.ts";
import type { ResolvedTransportOptions } from "./options.ts";

const logger = getLogger(["bus-integration", "nats"]);

/**
 * Whether subject pattern `pattern` (with `*` and `>`) matches every
 * subject `wildcard` does, where `wildcard` ends in `>`.
 */
export function patternCovers(pattern: string, wildcard: string): boolean {
  const have = pattern.split(".");
  const want = wildcard.split(".");
  for (const [index, token] of have.entries()) {
    if (token === ">") return true;
    const wanted = want[index];
    if (wanted === undefined || wanted === ">") return false;
    if (token !== "*" && token !== wanted) return false;
  }
  return false;
}

/** Makes sure the stream exists once, and again after it went missing. */
export class StreamSetup {
  readonly #jsm: () => Promise<JetStreamManager>;
  readonly #options: ResolvedTransportOptions;
  #ready: Promise<void> | undefined;
  #known = false;

  /** Nothing is asked of the server until {@linkcode StreamSetup.ensure}. */
  constructor(jsm: () => Promise<JetStreamManager>, options: ResolvedTransportOptions) {
    this.#jsm = jsm;
    this.#options = options;
  }

  /** Whether the stream is known to exist: `ensure()` succeeded and nothing reported it missing since. */
  get ready(): boolean {
    return this.#known;
  }

  /** Resolves once the stream exists and captures the prefix; a failure is retried on the next call. */
  ensure(): Promise<void> {
    this.#ready ??= this.#setUp().then(() => {
      this.#known = true;
    }, (error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Forgets that the stream existed (it was reported missing), so the next `ensure()` looks again. */
  forget(): void {
    this.#ready = undefined;
    this.#known = false;
  }

  async #setUp(): Promise<void> {
    const jsm = await this.#jsm();
    const { stream, subjectPrefix, maxAge } = this.#options;
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(stream);
    } catch (error) {
      if (!isMissingResource(error)) throw error;
      try {
        info = await jsm.streams.add({
          name: stream,
          subjects: [`${subjectPrefix}.>`],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          max_age: nanos(maxAge),
          num_replicas: 1,
        });
        logger.info("Created JetStream stream {stream} for {subjects}", {
          stream,
          subjects: info.config.subjects,
        });
      } catch (addError) {
        // Another process may have created it in the meantime.
        info = await jsm.streams.info(stream).catch(() => Promise.reject(addError));
      }
    }
    const wanted = `${subjectPrefix}.>`;
    const subjects = info.config.subjects ?? [];
    if (!subjects.some((subject) => patternCovers(subject, wanted))) {
      throw new ConfigError(
        "stream",
        stream,
        `a stream whose subjects capture ${wanted} (it has ${JSON.stringify(subjects)})`,
      );
    }
  }
}
