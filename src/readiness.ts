/**
 * `ListenerReadiness`: whether a listener's stream is established, as an
 * `EventTarget` that dispatches a `change` event on every flip.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { unwatchAbort, watchAbort } from "./abort_watch.ts";

/**
 * Told of a {@linkcode ListenerReadiness}'s flips and failures before its
 * listeners are: what a `Host` keeps per registration instead of event
 * listeners and their closures (a thousand registrations would hold four
 * thousand). Must not throw.
 */
export interface ReadinessObserver {
  /** The readiness flipped to `ready`, for `reason`. */
  changed(ready: boolean, reason: string): void;
  /** A failure was recorded with `fail()`. */
  failed(failure: string): void;
}

let attachObserver: (
  readiness: ListenerReadiness,
  observer: ReadinessObserver | undefined,
) => void;

/**
 * Makes `observer` the one observer of `readiness` (replacing any before):
 * for the library's own bookkeeping, not part of the public API.
 */
export function observeReadiness(
  readiness: ListenerReadiness,
  observer: ReadinessObserver | undefined,
): void {
  attachObserver(readiness, observer);
}

/** The `change` event of {@linkcode ListenerReadiness}. */
export class ReadinessChangeEvent extends Event {
  /** The new state. */
  readonly ready: boolean;
  /** Why it flipped, e.g. `stream open`, `stream ended`, `reconnecting after 503`. */
  readonly reason: string;

  /** Creates the event. */
  constructor(ready: boolean, reason: string) {
    super("change");
    this.ready = ready;
    this.reason = reason;
  }
}

/**
 * Whether an `EventTarget`'s state can be made after its construction, by
 * copying a fresh target's own properties onto it: where the runtime keeps
 * that state in plain own properties (Node: two `Map`s per target; Deno),
 * not where it is native (Bun). Tried once, on a probe, for the whole of
 * the behaviour a readiness needs; any doubt means no.
 */
const lateTargets = (() => {
  try {
    const probe = Object.create(EventTarget.prototype) as EventTarget;
    adoptEventTarget(probe);
    let seen = 0;
    const listener = (event: Event) => {
      if (event.target === probe && event.currentTarget === probe) seen++;
    };
    probe.addEventListener("probe", listener);
    probe.dispatchEvent(new Event("probe"));
    probe.removeEventListener("probe", listener);
    probe.dispatchEvent(new Event("probe"));
    return seen === 1;
  } catch {
    return false;
  }
})();

/** Gives `target` the state a new `EventTarget` has, except what it has already. */
function adoptEventTarget(target: EventTarget): void {
  const fresh = Object.getOwnPropertyDescriptors(new EventTarget());
  for (const key of Reflect.ownKeys(fresh)) {
    // Kept: e.g. a listener limit Node's `setMaxListeners()` set on it before.
    if (!Object.hasOwn(target, key)) {
      Object.defineProperty(target, key, fresh[key as keyof typeof fresh]!);
    }
  }
}

/**
 * What `ListenerReadiness`'s `super()` calls (it is made the class's
 * prototype below; `super()` calls whatever that is when it runs): an
 * object without EventTarget state where the runtime allows (see
 * `lateTargets`), else an ordinary `EventTarget`, either with `new.target`'s
 * prototype, so the class's fields are then put on it as usual.
 */
function LateEventTarget(): EventTarget {
  return lateTargets
    ? Object.create(new.target.prototype)
    : Reflect.construct(EventTarget, [], new.target);
}
// Statics (Node's own EventTarget check reads one) come from EventTarget still.
Object.setPrototypeOf(LateEventTarget, EventTarget);

/**
 * Readiness of one or more listeners: `false` until a stream answered 2xx,
 * and `false` again before every reconnect wait, with the failure kept as
 * `lastFailure` (and a `failure` event dispatched for each). Listeners of
 * the `change` and `failure` events must not throw (runtimes report such
 * throws as uncaught errors).
 *
 * @example Log every flip and wait for the first ready
 * ```ts ignore
 * import { ListenerReadiness } from "@bus/integration";
 *
 * const readiness = new ListenerReadiness();
 * readiness.addEventListener("change", (event) => {
 *   console.log(event.ready ? "ready" : "not ready", event.reason);
 * });
 * await readiness.waitReady(AbortSignal.timeout(5000));
 * ```
 */
export class ListenerReadiness extends EventTarget {
  #ready = false;
  #reason = "not started";
  #lastFailure: string | undefined;
  #observer: ReadinessObserver | undefined;
  // Whether it has an EventTarget's state yet: made at the first call of
  // an EventTarget method, so a readiness nobody listens to (a host's
  // thousand registrations) holds none of it (two `Map`s on Node, about
  // 450 bytes). Until then no listener can see an event, so none is made.
  #listenable = !lateTargets;
  // Whether a listener was ever added: before that no dispatch can reach
  // anyone, so `set()` and `fail()` make no event. Where the target is
  // native from the start (Bun) this spares a native `Event` per flip of
  // every readiness nobody listens to (a host's registrations): garbage
  // outside the JS heap that Bun's allocator keeps pages for.
  #heard = false;

  static {
    // The only way in, kept out of the class's public shape (see observeReadiness).
    attachObserver = (readiness, observer) => {
      readiness.#observer = observer;
    };
  }

  /** Whether the listener is established now. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The reason of the last flip (or `not started`). */
  get reason(): string {
    return this.#reason;
  }

  /**
   * The description of the last failure reported with
   * {@linkcode ListenerReadiness.fail} (e.g. `TransientError: Cannot open
   * stream: the network request failed (ECONNREFUSED 127.0.0.1:8080)`), kept
   * after the listener is ready again; `undefined` while none happened.
   */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  /** Sets the state; dispatches `change` only when it flips. */
  set(ready: boolean, reason: string): void {
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.#reason = reason;
    this.#observer?.changed(ready, reason);
    if (this.#heard) this.dispatchEvent(new ReadinessChangeEvent(ready, reason));
  }

  /**
   * Records a failure of the listener and makes it not ready with the
   * failure as reason. Unlike {@linkcode ListenerReadiness.set}, every call
   * counts: a listener that fails again while not ready updates
   * `lastFailure` (and `reason`) and dispatches a `failure` event.
   */
  fail(failure: string): void {
    this.#lastFailure = failure;
    if (this.#ready) {
      this.set(false, failure);
    } else {
      this.#reason = failure;
    }
    this.#observer?.failed(failure);
    if (this.#heard) this.dispatchEvent(new Event("failure"));
  }

  /** Adds a listener, as `EventTarget` does. */
  override addEventListener(
    type: string,
    listener: AnyListener | ((event: ReadinessChangeEvent) => void),
    options?: AddOptions,
  ): void {
    this.#heard = true;
    this.#makeListenable();
    super.addEventListener(type, listener as AnyListener, options);
  }

  /** Removes a listener, as `EventTarget` does. */
  override removeEventListener(
    type: string,
    listener: AnyListener | ((event: ReadinessChangeEvent) => void),
    options?: RemoveOptions,
  ): void {
    this.#makeListenable();
    super.removeEventListener(type, listener as AnyListener, options);
  }

  /** Dispatches `event` to the listeners, as `EventTarget` does. */
  override dispatchEvent(event: Event): boolean {
    this.#makeListenable();
    return super.dispatchEvent(event);
  }

  #makeListenable(): void {
    if (this.#listenable) return;
    this.#listenable = true;
    adoptEventTarget(this);
  }

  /**
   * Resolves when ready (at once if it is), or rejects with `signal.reason`
   * when `signal` aborts first.
   */
  waitReady(signal?: AbortSignal): Promise<void> {
    if (this.#ready) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onChange = (event: Event) => {
        if (!(event as ReadinessChangeEvent).ready) return;
        settle();
        resolve();
      };
      const onAbort = () => {
        settle();
        reject(signal?.reason);
      };
      const settle = () => {
        this.removeEventListener("change", onChange);
        unwatchAbort(signal, onAbort);
      };
      this.addEventListener("change", onChange);
      watchAbort(signal, onAbort);
    });
  }
}

// `extends EventTarget` for its types, docs and prototype chain; its
// instances are made by LateEventTarget (see there).
Object.setPrototypeOf(ListenerReadiness, LateEventTarget);

// The DOM lib's names for these (AddEventListenerOptions,
// EventListenerOrEventListenerObject) are not global under @types/node, so
// they are taken from EventTarget itself: the declarations then type-check
// for Node and Bun users without the DOM lib.
/** Any listener `EventTarget.addEventListener` takes. */
export type AnyListener = Parameters<EventTarget["addEventListener"]>[1];
/** The options `EventTarget.addEventListener` takes. */
export type AddOptions = Parameters<EventTarget["addEventListener"]>[2];
/** The options `EventTarget.removeEventListener` takes. */
export type RemoveOptions = Parameters<EventTarget["removeEventListener"]>[2];

/** Typed `change` listeners for {@linkcode ListenerReadiness}. */
export interface ListenerReadiness {
  /** Adds a `change` listener receiving {@linkcode ReadinessChangeEvent}s. */
  addEventListener(
    type: "change",
    listener: (event: ReadinessChangeEvent) => void,
    options?: AddOptions,
  ): void;
  /** Adds any listener. */
  addEventListener(
    type: string,
    listener: AnyListener,
    options?: AddOptions,
  ): void;
  /** Removes a `change` listener. */
  removeEventListener(
    type: "change",
    listener: (event: ReadinessChangeEvent) => void,
    options?: RemoveOptions,
  ): void;
  /** Removes any listener. */
  removeEventListener(
    type: string,
    listener: AnyListener,
    options?: RemoveOptions,
  ): void;
}

/**
 * Keeps `target` ready exactly while every one of `parts` is ready, by
 * counting the ready ones, so a flip costs O(1) rather than a look at all
 * of them. It is told of the parts' flips and failures by whoever watches
 * them: {@linkcode aggregateReadiness} through event listeners, a `Host`
 * through a {@linkcode ReadinessObserver} per registration (no listener
 * and closure on each). Not part of the public API.
 */
export class ReadinessAggregate {
  readonly #target: ListenerReadiness;
  readonly #parts: readonly ListenerReadiness[];
  #ready = 0;
  #active = false;

  /** Aggregates `parts` (which may still grow until {@linkcode ReadinessAggregate.start}) into `target`. */
  constructor(target: ListenerReadiness, parts: readonly ListenerReadiness[]) {
    this.#target = target;
    this.#parts = parts;
  }

  /** Starts following the parts, from their state now. */
  start(): void {
    this.#active = true;
    this.#ready = this.#parts.filter((part) => part.ready).length;
    const ready = this.#ready === this.#parts.length;
    this.#target.set(ready, ready ? "all listeners ready" : "waiting for listeners");
  }

  /** Stops following them; the target keeps its state. */
  stop(): void {
    this.#active = false;
  }

  /** A part flipped to `ready`, for `reason`. */
  changed(ready: boolean, reason: string): void {
    if (!this.#active) return;
    this.#ready += ready ? 1 : -1;
    this.#target.set(this.#ready === this.#parts.length, reason);
  }

  /** A part failed: the target's failure too, so `/readyz` shows the last one of any. */
  failed(failure: string): void {
    if (this.#active) this.#target.fail(failure);
  }
}

/**
 * Keeps `target` ready exactly while every one of `parts` is ready, with the
 * reason of the part that flipped it. Returns the function that stops it.
 */
export function aggregateReadiness(
  target: ListenerReadiness,
  parts: readonly ListenerReadiness[],
): () => void {
  const aggregate = new ReadinessAggregate(target, parts);
  const changed = (event: ReadinessChangeEvent) => aggregate.changed(event.ready, event.reason);
  const failed = (event: Event) => {
    const failure = (event.target as ListenerReadiness).lastFailure;
    if (failure !== undefined) aggregate.failed(failure);
  };
  for (const part of parts) {
    part.addEventListener("change", changed);
    part.addEventListener("failure", failed);
  }
  aggregate.start();
  return () => {
    for (const part of parts) {
      part.removeEventListener("change", changed);
      part.removeEventListener("failure", failed);
    }
    aggregate.stop();
  };
}
