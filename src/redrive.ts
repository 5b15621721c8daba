/**
 * `redrive()`: reads the dead letters published under one name and
 * re-publishes each original event to its original name, with the same
 * `correlationId` and metadata, so the workers handle it again.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { InvalidInput } from "./decode/types.ts";
import { assertEventName, type EventEnvelope } from "./envelope.ts";
import { type DeadLetterPayload, deadLetterProblem } from "./handling/dead_letter.ts";
import { producerLinks } from "./tracing/links.ts";
import { sendTraced } from "./tracing/send.ts";
import type { EventTransport } from "./transport.ts";

/** One dead letter as `redrive()` read it. */
export interface RedrivenDeadLetter {
  /** The dead letter's own id (not the original event's). */
  id: string | undefined;
  /** Its payload: the original envelope, the error, the attempts. */
  payload: DeadLetterPayload;
}

/** Options of {@linkcode redrive}. */
export interface RedriveOptions {
  /** Where the dead letters are read and the events re-published. */
  transport: EventTransport;
  /** The dead letters' event name, e.g. `job.run.request.dead-letter`. */
  from: string;
  /** Stops reading and publishing; the call then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Which dead letters to redrive; the others are counted as `filtered`. @default {all} */
  filter?: ((deadLetter: RedrivenDeadLetter) => boolean) | undefined;
  /** List what would be redriven without publishing anything. @default {false} */
  dryRun?: boolean | undefined;
  /**
   * Start after this dead letter (its id): the `lastEventId` of an earlier
   * run, so that a second run does not redrive the same dead letters again.
   * It must still be retained: an id the history does not hold rejects with
   * a `RangeError` before anything is published.
   *
   * @default {the first retained dead letter}
   */
  after?: string | undefined;
}

/** What {@linkcode redrive} did. */
export interface RedriveResult {
  /** Dead letters read. */
  read: number;
  /** Dead letters that passed the filter (in a dry run: would be redriven). */
  matched: number;
  /** Original events re-published (0 in a dry run). */
  redriven: number;
  /** Dead letters the filter left out. */
  filtered: number;
  /** Records that are no dead letter (malformed, or no valid envelope), skipped and logged. */
  skipped: number;
  /** Where this run stopped reading: pass it as `after` to go on from there next time. */
  lastEventId: string | undefined;
  /** In a dry run, the dead letters that would be redriven, in order; otherwise empty. */
  deadLetters: RedrivenDeadLetter[];
}

const logger = getLogger(["bus-integration", "redrive"]);

/**
 * Reads every retained dead letter of `from` (a broadcast replay that ends
 * at the end of the history) and re-publishes each original envelope to its
 * original name: the same payload, `correlationId`, `metadata`, `source`
 * and unknown fields, with a new id and timestamp stamped on publish. A
 * redriven event starts again at attempt 1. Records that are no dead letter
 * are skipped, counted and logged, never fatal.
 *
 * Dead letters stay where they are (the history keeps them), so running it
 * twice redrives twice: pass the previous run's `lastEventId` as `after`,
 * or filter. With `after` it still reads the whole retained history and
 * starts after the record of that id (ids are opaque, so only finding it
 * shows where "after" is); records up to it are not counted.
 *
 * Each re-publish is a `send <name>` span, as a worker's publishes are:
 * while an OpenTelemetry SDK is registered, the event's `traceparent` is
 * that span's, and the span links to the dead letter's and the original
 * producer's spans; without one, `metadata` goes out as the original had
 * it.
 *
 * @param options What to read, where, and what to do with it.
 * @returns The counts, and in a dry run the dead letters it would redrive.
 * @throws {TypeError} When `from` is not an event name or `filter` not a function.
 * @throws {RangeError} When `after` is the id of no retained record of
 * `from` (a typo, another name's id, one no longer retained): it ends
 * before publishing anything, instead of redriving every dead letter again.
 *
 * @example Redrive the dead letters of one request name that failed with one code
 * ```ts ignore
 * import { EventsClient, redrive } from "@bus/integration";
 *
 * const client = new EventsClient({ baseUrl: "http://127.0.0.1:8080", token: "…" });
 * const result = await redrive({
 *   transport: client,
 *   from: "job.run.request.dead-letter",
 *   filter: ({ payload }) => payload.error.code === "quota_exceeded",
 * });
 * console.log(`redrove ${result.redriven} of ${result.read}; next time after ${result.lastEventId}`);
 * ```
 */
export async function redrive(options: RedriveOptions): Promise<RedriveResult> {
  const { transport, from, signal, filter } = options;
  assertEventName(from);
  if (filter !== undefined && typeof filter !== "function") {
    throw new TypeError("Cannot redrive: filter is not a function");
  }
  const result: RedriveResult = {
    read: 0,
    matched: 0,
    redriven: 0,
    filtered: 0,
    skipped: 0,
    lastEventId: options.after,
    deadLetters: [],
  };
  // Before `after` is reached nothing counts and nothing is published.
  const position = new AfterPosition(options.after);
  const onInvalid = (invalid: InvalidInput) => {
    if (!position.reached) return;
    result.skipped++;
    logger.warn("Skipped a malformed record in {from}: {reason}", { from, ...invalid });
  };
  // The whole retained history, not a resume after `after`: ids are opaque
  // and the Events API need not honour Last-Event-ID (the reference server
  // replays everything for an id it does not know), so only finding `after`
  // among the records shows where "after" begins.
  const subscription = await transport.open({
    name: from,
    delivery: "broadcast",
    replay: true,
    follow: false,
    signal,
    onInvalid,
  });
  try {
    for await (const event of subscription) {
      if (position.reached) {
        result.read++;
        await redriveOne(event, options, result);
      }
      await subscription.settle(event, { type: "done" });
      position.passed(event.id, subscription.lastEventId);
    }
    position.ended(subscription.lastEventId, from);
  } finally {
    if (position.reached) result.lastEventId = subscription.lastEventId ?? result.lastEventId;
    await subscription.close();
  }
  logger.info(
    options.dryRun
      ? "Dry run: would redrive {matched} of {read} dead letters from {from}"
      : "Redrove {redriven} of {read} dead letters from {from}",
    { from, ...result, deadLetters: result.deadLetters.length },
  );
  return result;
}

/**
 * Where a redrive is relative to its `after`: reached once a record with
 * that id (or a resume point equal to it) went by, at once without one.
 */
class AfterPosition {
  reached: boolean;

  constructor(readonly after: string | undefined) {
    this.reached = after === undefined || after === "";
  }

  /** One record went by: its id, and the resume point once it was settled. */
  passed(id: string | undefined, resumePoint: string | undefined): void {
    if (this.reached) return;
    // The resume point too: over JetStream `after` is a stream sequence, not an envelope id.
    this.reached = id === this.after || resumePoint === this.after;
  }

  /**
   * The history ended. `after` not among it means nothing shows where to
   * begin: it is mistyped, of another name, or no longer retained.
   * Redriving everything then would publish again what an earlier run
   * did, so it stops instead, having published nothing.
   *
   * @throws {RangeError} When `after` was never reached.
   */
  ended(resumePoint: string | undefined, from: string): void {
    if (this.reached || resumePoint === this.after) return;
    throw new RangeError(
      `Cannot redrive ${from}: after ${
        JSON.stringify(this.after!.slice(0, 64))
      } is the id of no retained record of ${from} (mistyped, of another name, or no longer ` +
        "retained), so nothing shows where to start; nothing was redriven. Run with --dry-run " +
        "and without after to see what is retained",
    );
  }
}

/** Handles one record of the dead-letter stream, counting it into `result`. */
async function redriveOne(event: EventEnvelope, options: RedriveOptions, result: RedriveResult) {
  const problem = deadLetterProblem(event.payload);
  if (problem !== undefined) {
    result.skipped++;
    logger.warn("Skipped {id} in {from}: {problem}", { id: event.id, from: options.from, problem });
    return;
  }
  const deadLetter: RedrivenDeadLetter = {
    id: event.id,
    payload: event.payload as DeadLetterPayload,
  };
  if (options.filter !== undefined && !options.filter(deadLetter)) {
    result.filtered++;
    return;
  }
  result.matched++;
  if (options.dryRun) {
    result.deadLetters.push(deadLetter);
    return;
  }
  const original = republished(deadLetter.payload.envelope);
  // Traced like every other publish: with an SDK the redriven event carries
  // its own send span's context, and that span links to the dead letter's
  // (inside the failed handling) and to the original producer's.
  const links = [...producerLinks(event.metadata), ...producerLinks(original.metadata)];
  const published = await sendTraced(
    options.transport,
    original,
    { signal: options.signal },
    links,
  );
  result.redriven++;
  logger.info("Redrove dead letter {deadLetter} as {name} {id}", {
    deadLetter: event.id,
    name: original.name,
    id: published.id,
    correlationId: original.correlationId,
  });
}

/** The original envelope as it is published again: what the server stamps is left to it. */
function republished(envelope: EventEnvelope): EventEnvelope {
  const copy: EventEnvelope = { ...envelope };
  delete copy.id;
  delete copy.timestamp;
  delete copy["identity_id"];
  return copy;
}
