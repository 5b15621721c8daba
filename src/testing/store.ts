/**
 * The memory backend of the reference server: retained history per name,
 * broadcast subscribers, and unicast groups that hand each event to one
 * consumer.
 *
 * @module
 */

import { utf8ByteLength } from "../decode/utf8.ts";
import type { EventEnvelope } from "../envelope.ts";
import { BoundedQueue } from "./queue.ts";
import type { EventStream, StoredEvent } from "./stream_response.ts";

/** Width of the zero-padded ids, so that ids sort as strings too. */
const ID_DIGITS = 16;

/**
 * The consumers of one `(name, group)` pair: a FIFO of events that no
 * consumer has taken yet and a ring of connected consumers served round
 * robin.
 */
export class UnicastGroup {
  readonly #pending: BoundedQueue<StoredEvent>;
  readonly #onDrop: () => void;
  readonly #consumers: EventStream[] = [];
  #next = 0;
  #dispatching = false;

  /**
   * Creates a group whose backlog keeps at most `limit` events; `onDrop` counts
   * each event dropped because the backlog was full.
   */
  constructor(limit: number, backlog: readonly StoredEvent[] = [], onDrop: () => void = () => {}) {
    this.#pending = new BoundedQueue(limit);
    this.#onDrop = onDrop;
    for (const event of backlog) this.#offerOne(event);
  }

  /** Queues `event` for the next consumer that can take it. */
  offer(event: StoredEvent): void {
    this.#offerOne(event);
    this.dispatch();
  }

  #offerOne(event: StoredEvent): void {
    if (this.#pending.push(event)) this.#onDrop();
  }

  /** Adds a connected consumer to the ring and serves it what waits. */
  join(stream: EventStream): void {
    this.#consumers.push(stream);
    this.dispatch();
  }

  /** Removes a consumer; whatever it was handed stays handed (at-most-once). */
  leave(stream: EventStream): void {
    const index = this.#consumers.indexOf(stream);
    if (index === -1) return;
    this.#consumers.splice(index, 1);
    if (index < this.#next) this.#next--;
    if (this.#next >= this.#consumers.length) this.#next = 0;
  }

  /** Takes every waiting event at once, e.g. for a `follow=false` snapshot. */
  takeAll(): StoredEvent[] {
    return this.#pending.drain();
  }

  /**
   * Hands waiting events to consumers that can take them, each event to one
   * consumer, starting after the consumer served last.
   */
  dispatch(): void {
    // Writing an event can synchronously pull for more and call back in
    // here; the outer loop re-checks every consumer, so it alone proceeds.
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (this.#pending.size > 0) {
        const taker = this.#nextTaker();
        if (taker === undefined) return;
        const event = this.#pending.shift();
        if (event !== undefined) taker.sendEvent(event);
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #nextTaker(): EventStream | undefined {
    const count = this.#consumers.length;
    for (let step = 0; step < count; step++) {
      const index = (this.#next + step) % count;
      const consumer = this.#consumers[index];
      if (consumer?.canTake) {
        this.#next = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }
}

/** In-memory events: history, broadcast fan-out and unicast groups. */
export class EventStore {
  readonly #limit: number;
  readonly #groupLimit: number;
  readonly #onGroupDrop: () => void;
  #seq = 0;
  readonly #history = new Map<string, BoundedQueue<StoredEvent>>();
  readonly #broadcast = new Map<string, Set<EventStream>>();
  readonly #groups = new Map<string, Map<string, UnicastGroup>>();

  /**
   * Creates a store keeping `historyLimit` events per name and at most
   * `groupLimit` undelivered events per unicast group.
   */
  constructor(historyLimit: number, groupLimit: number, onGroupDrop: () => void) {
    this.#limit = historyLimit;
    this.#groupLimit = groupLimit;
    this.#onGroupDrop = onGroupDrop;
  }

  /**
   * Gives `envelope` the next id, keeps it and delivers it: to every
   * broadcast subscriber of its name and to one consumer of every group.
   *
   * @param envelope The envelope to store; its `id` is replaced.
   * @param maxJsonBytes Most UTF-8 bytes the stamped envelope's JSON may
   * have; a larger one is neither kept nor delivered, and takes no id.
   * @returns The stored event and the stamped envelope, or `undefined`
   * when the envelope is over `maxJsonBytes`.
   */
  publish(
    envelope: EventEnvelope,
    maxJsonBytes: number = Number.POSITIVE_INFINITY,
  ): { event: StoredEvent; envelope: EventEnvelope } | undefined {
    const seq = this.#seq + 1;
    const id = String(seq).padStart(ID_DIGITS, "0");
    // The id leads, so it is the first thing a human reads in a stream.
    const { id: _callerId, ...fields } = envelope;
    const stamped: EventEnvelope = { id, ...fields };
    const json = JSON.stringify(stamped);
    // A UTF-16 unit is at most 3 UTF-8 bytes: only long records are counted.
    if (json.length * 3 > maxJsonBytes && utf8ByteLength(json) > maxJsonBytes) return undefined;
    this.#seq = seq;
    const event: StoredEvent = { seq, id, name: envelope.name, json };
    let history = this.#history.get(event.name);
    if (history === undefined) {
      history = new BoundedQueue(this.#limit);
      this.#history.set(event.name, history);
    }
    history.push(event);
    for (const stream of this.#broadcast.get(event.name) ?? []) stream.sendEvent(event);
    for (const group of this.#groups.get(event.name)?.values() ?? []) group.offer(event);
    return { event, envelope: stamped };
  }

  /** The retained events of `name`, oldest first. */
  history(name: string): StoredEvent[] {
    return this.#history.get(name)?.toArray() ?? [];
  }

  /**
   * The retained events of `name` published after `lastEventId`; all of
   * them when the id is not one this store issued.
   */
  historyAfter(name: string, lastEventId: string): StoredEvent[] {
    const retained = this.history(name);
    const trimmed = lastEventId.trim();
    if (!/^\d{1,16}$/.test(trimmed)) return retained;
    const seq = Number(trimmed);
    if (seq > this.#seq) return retained;
    return retained.filter((event) => event.seq > seq);
  }

  /** Subscribes `stream` to every later event of `name`; returns the undo. */
  subscribe(name: string, stream: EventStream): () => void {
    let streams = this.#broadcast.get(name);
    if (streams === undefined) {
      streams = new Set();
      this.#broadcast.set(name, streams);
    }
    streams.add(stream);
    return () => {
      streams.delete(stream);
      if (streams.size === 0 && this.#broadcast.get(name) === streams) {
        this.#broadcast.delete(name);
      }
    };
  }

  /**
   * The unicast group `group` of `name`, created on first use. A new group
   * starts with the retained history when `replay` is set, else empty.
   */
  group(name: string, group: string, replay: boolean): UnicastGroup {
    let groups = this.#groups.get(name);
    if (groups === undefined) {
      groups = new Map();
      this.#groups.set(name, groups);
    }
    let found = groups.get(group);
    if (found === undefined) {
      found = new UnicastGroup(
        this.#groupLimit,
        replay ? this.history(name) : [],
        this.#onGroupDrop,
      );
      groups.set(group, found);
    }
    return found;
  }

  /** Lets every group hand out what waited, e.g. after streams resume. */
  dispatchAll(): void {
    for (const groups of this.#groups.values()) {
      for (const group of groups.values()) group.dispatch();
    }
  }
}
