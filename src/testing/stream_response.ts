/**
 * One open event stream of the reference server: NDJSON or SSE framing,
 * keepalives, holding output while stalled, and cleanup however it ends.
 *
 * @module
 */

import type { Framing } from "./accept.ts";
import type { DeliveryLabels } from "./stats.ts";

/** An event as the store keeps it: serialised once, written many times. */
export interface StoredEvent {
  /** Global publish order; the `id` is this number, zero-padded. */
  readonly seq: number;
  /** The envelope `id`. */
  readonly id: string;
  /** The envelope `name`. */
  readonly name: string;
  /** The stamped envelope as one line of JSON (no newline inside). */
  readonly json: string;
}

/** What a stream follows, from its query; used by counters and fault filters. */
export interface StreamLabels extends DeliveryLabels {
  /** `broadcast` or `unicast`. */
  readonly delivery: "broadcast" | "unicast";
}

/** Options of {@linkcode EventStream}. */
export interface EventStreamOptions {
  /** What the stream follows. */
  readonly labels: StreamLabels;
  /** How events are written. */
  readonly framing: Framing;
  /** Keepalive interval in milliseconds; `0` sends none. */
  readonly heartbeatMs: number;
  /** While true nothing is written; frames wait in the stream's outbox. */
  readonly isStalled: () => boolean;
  /** The reader has room for more: a unicast group may hand it an event. */
  readonly onDemand?: () => void;
  /** An event frame was written into the response body. */
  readonly onDelivered?: (event: StoredEvent) => void;
  /**
   * Called once, however the stream ends: by the server, or by the client
   * cancelling the body (every runtime cancels it when the connection goes).
   */
  readonly onClose?: () => void;
}

interface Frame {
  readonly text: string;
  readonly event?: StoredEvent;
}

const encoder = new TextEncoder();

/** Frames written in one tick go out as one chunk, up to this many characters. */
const CHUNK_CHARS = 64 * 1024;
/** A unicast consumer with this much unsent text takes no more events this tick. */
const TAKE_LIMIT_CHARS = 16 * 1024;

/**
 * A response body that carries events. Writes go straight into the
 * `ReadableStream` (small high-water mark, so {@linkcode canTake} reflects a
 * reader that stopped reading) unless the server is stalled, in which case
 * they wait in an outbox until {@linkcode flush}.
 */
export class EventStream {
  /** The response body; give it to `new Response()`. */
  readonly body: ReadableStream<Uint8Array>;
  readonly #options: EventStreamOptions;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #outbox: Frame[] = [];
  #closed = false;
  #endWhenFlushed = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #framesWritten = 0;
  /** Frames written this tick, not yet enqueued: one chunk per tick, not per event. */
  #unsent: string[] = [];
  #unsentChars = 0;
  #sendScheduled = false;

  /** What the stream follows. */
  readonly labels: StreamLabels;

  /** Opens the stream; keepalives start at once. */
  constructor(options: EventStreamOptions) {
    this.#options = options;
    this.labels = options.labels;
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          if (!this.#closed) this.#options.onDemand?.();
        },
        cancel: () => this.#finish(false),
      },
      { highWaterMark: 1 },
    );
    if (options.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => {
        if (this.#outbox.length === 0) this.sendKeepalive();
      }, options.heartbeatMs);
    }
  }

  /** Whether the stream has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many frames (events, keepalives, malformed lines) were written. */
  get framesWritten(): number {
    return this.#framesWritten;
  }

  /**
   * Whether a unicast group may hand this stream an event now: it is open,
   * not stalled, has nothing queued and its reader is keeping up.
   */
  get canTake(): boolean {
    return !this.#closed && !this.#endWhenFlushed && !this.#options.isStalled() &&
      this.#outbox.length === 0 && this.#unsentChars < TAKE_LIMIT_CHARS &&
      (this.#controller?.desiredSize ?? 0) > 0;
  }

  /** Writes (or, while stalled, queues) one event. */
  sendEvent(event: StoredEvent): void {
    const text = this.#options.framing === "sse"
      ? `id: ${event.id}\ndata: ${event.json}\n\n`
      : `${event.json}\n`;
    this.#send({ text, event });
  }

  /** Writes (or queues) a line that is not JSON, for decoder tests. */
  sendMalformed(line: string): void {
    const text = this.#options.framing === "sse"
      ? `${line.split(/\r\n|\r|\n/).map((part) => `data: ${part}\n`).join("")}\n`
      : `${line}\n`;
    this.#send({ text });
  }

  /** Writes a keepalive (NDJSON: an empty line; SSE: a comment) unless stalled. */
  sendKeepalive(): void {
    if (this.#closed || this.#options.isStalled()) return;
    this.#write({ text: this.#options.framing === "sse" ? ": keepalive\n\n" : "\n" });
  }

  /** Writes what waited while stalled; ends the stream if {@linkcode end} was asked. */
  flush(): void {
    if (this.#closed || this.#options.isStalled()) return;
    const frames = this.#outbox;
    this.#outbox = [];
    for (const frame of frames) this.#write(frame);
    if (this.#endWhenFlushed) this.#finish(true);
  }

  /** Ends the response once everything written or queued so far is out. */
  end(): void {
    this.#endWhenFlushed = true;
    this.flush();
  }

  /**
   * Ends the response now; queued frames are dropped. The client sees the
   * body end (EOF), as when a server restarts.
   */
  close(): void {
    this.#finish(true);
  }

  #send(frame: Frame): void {
    if (this.#closed) return;
    if (this.#options.isStalled() || this.#outbox.length > 0) {
      this.#outbox.push(frame);
    } else {
      this.#write(frame);
    }
  }

  #write(frame: Frame): void {
    if (this.#closed || this.#controller === undefined) return;
    this.#unsent.push(frame.text);
    this.#unsentChars += frame.text.length;
    this.#framesWritten++;
    if (frame.event !== undefined) this.#options.onDelivered?.(frame.event);
    if (this.#unsentChars >= CHUNK_CHARS) {
      this.#sendUnsent();
    } else if (!this.#sendScheduled) {
      this.#sendScheduled = true;
      queueMicrotask(() => this.#sendUnsent());
    }
  }

  #sendUnsent(): void {
    this.#sendScheduled = false;
    if (this.#unsent.length === 0 || this.#controller === undefined) return;
    const text = this.#unsent.length === 1 ? this.#unsent[0]! : this.#unsent.join("");
    this.#unsent = [];
    this.#unsentChars = 0;
    try {
      this.#controller.enqueue(encoder.encode(text));
    } catch {
      // The client cancelled the body in the meantime.
    }
    // Room again: a unicast group may hand this consumer more.
    if (!this.#closed && (this.#controller.desiredSize ?? 0) > 0) this.#options.onDemand?.();
  }

  #finish(closeBody: boolean): void {
    if (this.#closed) return;
    if (closeBody) this.#sendUnsent();
    this.#closed = true;
    this.#outbox = [];
    this.#unsent = [];
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    if (closeBody) {
      try {
        this.#controller?.close();
      } catch {
        // The client cancelled the body first; it is already closed.
      }
    }
    this.#options.onClose?.();
  }
}
