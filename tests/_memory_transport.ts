/**
 * An in-memory {@linkcode EventTransport} for tests that prove the seam: no
 * HTTP, no decoder, no server. Broadcast subscriptions each get every
 * event; unicast subscriptions of one group take turns. It records every
 * settlement, so tests can assert how the worker ended each event. With
 * `redeliver: true` it behaves like JetStream towards a `retry`
 * settlement: the event is delivered again after the delay (a new object,
 * as a new message would be), and `attempt()` counts its deliveries.
 *
 * @module
 */

import {
  assertEventName,
  AuthError,
  type EventEnvelope,
  type EventSubscription,
  type EventTransport,
  type PublishOptions,
  type PublishResult,
  type Settlement,
  type StreamOptions,
} from "../mod.ts";

/** One recorded settlement. */
export interface SettlementRecord {
  readonly id: string | undefined;
  readonly name: string;
  readonly settlement: Settlement;
}

/** Options of {@linkcode MemoryTransport}. */
export interface MemoryTransportOptions {
  /** Redeliver events settled `retry` after their delay, counting deliveries. @default {false} */
  redeliver?: boolean;
}

/** An in-memory transport; see the module doc. */
export class MemoryTransport implements EventTransport {
  readonly canRefreshCredentials = false;
  /** Whether a `retry` settlement redelivers the event. */
  readonly redelivers: boolean;
  /** Every event published, in order, with the id it was given. */
  readonly published: EventEnvelope[] = [];
  /** Every settlement any subscription received, in order. */
  readonly settlements: SettlementRecord[] = [];
  /** Stream options of every `open()`, in order. */
  readonly opens: StreamOptions[] = [];
  /** Makes the next `open()` calls fail with these errors, first in first out. */
  readonly failOpens: unknown[] = [];
  readonly #subscriptions = new Set<MemorySubscription>();
  readonly #turns = new Map<string, number>();
  readonly #deliveries = new Map<string | undefined, number>();
  readonly #redeliveries = new Set<ReturnType<typeof setTimeout>>();
  #nextId = 1;
  closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.redelivers = options.redeliver ?? false;
  }

  publish(event: EventEnvelope, options: PublishOptions = {}): Promise<PublishResult> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    try {
      assertEventName(event.name);
    } catch (error) {
      return Promise.reject(error);
    }
    const stamped = { ...event, id: String(this.#nextId++) };
    this.published.push(stamped);
    this.#route(stamped);
    return Promise.resolve({ id: stamped.id, name: stamped.name });
  }

  /** How many times the event with this id was handed to a subscription. */
  deliveries(id: string | undefined): number {
    return this.#deliveries.get(id) ?? 0;
  }

  /** Delivers a copy of `event` again after `delay` ms, as a `nak(delay)` would. */
  redeliverLater(event: EventEnvelope, delay: number): void {
    const timer = setTimeout(() => {
      this.#redeliveries.delete(timer);
      this.#route({ ...event });
    }, delay);
    this.#redeliveries.add(timer);
  }

  /** Hands `stamped` to the matching subscriptions: all broadcast ones, one per unicast group. */
  #route(stamped: EventEnvelope): void {
    const push = (sub: MemorySubscription) => {
      this.#deliveries.set(stamped.id, this.deliveries(stamped.id) + 1);
      sub.push(stamped);
    };
    const matching = [...this.#subscriptions].filter((sub) => sub.options.name === stamped.name);
    const unicast = new Map<string, MemorySubscription[]>();
    for (const sub of matching) {
      if (sub.options.delivery !== "unicast") {
        push(sub);
        continue;
      }
      const group = sub.options.group ?? "default";
      unicast.set(group, [...unicast.get(group) ?? [], sub]);
    }
    for (const [group, members] of unicast) {
      const turn = this.#turns.get(group) ?? 0;
      this.#turns.set(group, turn + 1);
      push(members[turn % members.length]!);
    }
  }

  open(options: StreamOptions): Promise<EventSubscription> {
    this.opens.push(options);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const failure = this.failOpens.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const subscription = new MemorySubscription(options, this);
    this.#subscriptions.add(subscription);
    return Promise.resolve(subscription);
  }

  /** Subscriptions open now. */
  get openCount(): number {
    return this.#subscriptions.size;
  }

  forget(subscription: MemorySubscription): void {
    this.#subscriptions.delete(subscription);
  }

  /** Ends every open subscription, as a server ending its responses would. */
  async endSubscriptions(): Promise<void> {
    for (const subscription of [...this.#subscriptions]) await subscription.close();
  }

  close(): Promise<void> {
    this.closed = true;
    for (const timer of this.#redeliveries) clearTimeout(timer);
    this.#redeliveries.clear();
    return this.endSubscriptions();
  }
}

/** An `AuthError` as an HTTP transport would throw it for a 401. */
export function unauthorized(): AuthError {
  return new AuthError("Cannot open stream: 401", { status: 401, code: "invalid_auth" });
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** One subscription of a {@linkcode MemoryTransport}. */
class MemorySubscription implements EventSubscription {
  readonly options: StreamOptions;
  readonly reconnectHint = undefined;
  lastEventId: string | undefined;
  readonly #transport: MemoryTransport;
  readonly #queue: EventEnvelope[] = [];
  readonly #settled = new Set<EventEnvelope>();
  #waiter: ((result: IteratorResult<EventEnvelope, undefined>) => void) | undefined;
  #fail: ((error: unknown) => void) | undefined;
  #closed = false;

  constructor(options: StreamOptions, transport: MemoryTransport) {
    this.options = options;
    this.lastEventId = options.lastEventId;
    this.#transport = transport;
    options.signal?.addEventListener("abort", () => {
      this.#fail?.(options.signal?.reason);
      this.close();
    }, { once: true });
  }

  push(event: EventEnvelope): void {
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = this.#fail = undefined;
      waiter({ done: false, value: event });
    } else {
      this.#queue.push(event);
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve({ done: false, value: queued });
    if (this.options.signal?.aborted) return Promise.reject(this.options.signal.reason);
    if (this.#closed) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#fail = reject;
    });
  }

  async return(): Promise<IteratorResult<EventEnvelope, undefined>> {
    await this.close();
    return DONE;
  }

  settle(event: EventEnvelope, settlement: Settlement): Promise<void> {
    if (this.#settled.has(event)) return Promise.resolve();
    this.#settled.add(event);
    this.lastEventId = event.id;
    this.#transport.settlements.push({ id: event.id, name: event.name, settlement });
    if (settlement.type === "retry" && this.redelivers) {
      this.#transport.redeliverLater(event, settlement.delay);
    }
    return Promise.resolve();
  }

  working(_event: EventEnvelope): Promise<void> {
    return Promise.resolve();
  }

  get redelivers(): boolean {
    return this.#transport.redelivers;
  }

  attempt(event: EventEnvelope): number {
    return this.redelivers ? this.#transport.deliveries(event.id) : 1;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#transport.forget(this);
    const waiter = this.#waiter;
    this.#waiter = this.#fail = undefined;
    waiter?.(DONE);
    return Promise.resolve();
  }
}
