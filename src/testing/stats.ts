/**
 * Counters of the reference server that tests assert on.
 *
 * @module
 */

/** Which deliveries {@linkcode EventsApiStats.delivered} counts. */
export interface DeliveredFilter {
  /** Only events of this name. */
  name?: string;
  /** Only unicast deliveries to this group (broadcast streams have none). */
  group?: string;
  /** Only streams opened with this `consumer` query value (default `"default"`). */
  consumer?: string;
}

/** What the reference server has done so far. */
export interface EventsApiStats {
  /** Events accepted by `POST /api/v1/events`. */
  readonly published: number;
  /** Event streams open right now. */
  readonly openStreams: number;
  /** Events a unicast group dropped because its backlog was full. */
  readonly dropped: number;
  /**
   * Events written into stream bodies, optionally only those matching
   * `filter`. Counts writes, not reads: an event written just before the
   * client went away still counts.
   */
  delivered(filter?: DeliveredFilter): number;
}

/** Which stream an event was written to. */
export interface DeliveryLabels {
  /** The event name the stream follows. */
  readonly name: string;
  /** The unicast group; `undefined` on broadcast streams. */
  readonly group: string | undefined;
  /** The stream's `consumer` query value. */
  readonly consumer: string;
}

interface Counter extends DeliveryLabels {
  count: number;
}

/** The counters behind {@linkcode EventsApiStats}. */
export class Stats implements EventsApiStats {
  #published = 0;
  #dropped = 0;
  readonly #delivered = new Map<string, Counter>();
  readonly #openStreams: () => number;

  /** Creates the counters; `openStreams` reads the live stream count. */
  constructor(openStreams: () => number) {
    this.#openStreams = openStreams;
  }

  /** Events accepted by `POST /api/v1/events`. */
  get published(): number {
    return this.#published;
  }

  /** Event streams open right now. */
  get openStreams(): number {
    return this.#openStreams();
  }

  /** Events a unicast group dropped because its backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Counts one event a full unicast backlog dropped. */
  recordDropped(): void {
    this.#dropped++;
  }

  /** Events written into stream bodies, optionally matching `filter`. */
  delivered(filter: DeliveredFilter = {}): number {
    let total = 0;
    for (const counter of this.#delivered.values()) {
      if (filter.name !== undefined && counter.name !== filter.name) continue;
      if (filter.group !== undefined && counter.group !== filter.group) continue;
      if (filter.consumer !== undefined && counter.consumer !== filter.consumer) continue;
      total += counter.count;
    }
    return total;
  }

  /** Counts one accepted publish. */
  recordPublished(): void {
    this.#published++;
  }

  /** Counts one event written to a stream labelled `labels`. */
  recordDelivered(labels: DeliveryLabels): void {
    const key = JSON.stringify([labels.name, labels.group ?? null, labels.consumer]);
    const counter = this.#delivered.get(key);
    if (counter === undefined) {
      this.#delivered.set(key, { ...labels, count: 1 });
    } else {
      counter.count++;
    }
  }
}
