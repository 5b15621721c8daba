/**
 * Counters of a NATS JetStream transport, for health reports and tests.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Live counters of one `NatsTransport`, over all its subscriptions. */
export class NatsTransportStats {
  /** Events published (acknowledged by JetStream). */
  published = 0;
  /** Envelopes handed out by subscriptions. */
  delivered = 0;
  /** Unicast events acknowledged (`done`). */
  acked = 0;
  /** Unicast events handed back for redelivery after a delay (`retry`). */
  retried = 0;
  /** Unicast events terminated: `dead`, malformed, or out of deliveries. */
  terminated = 0;
  /** Of those, events terminated because a retry would exceed `maxDeliver`. */
  exhausted = 0;
  /** Messages that were not event envelopes, skipped (and terminated where unicast). */
  invalid = 0;
  /** Times the connection to the server was lost. */
  disconnects = 0;
}
