/**
 * What nats.js throws, as the library's error classes, so the listener's
 * reconnect policy is the same on NATS as over HTTP: refused credentials are
 * an `AuthError`, a request JetStream rejects as malformed a
 * `BadRequestError`, and a broken or slow connection a `TransientError`.
 *
 * Messages never carry credentials: nats.js's own texts do not, and every
 * message here is built from fixed words and the nats.js error's name.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { errors as natsErrors } from "@nats-io/nats-core";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import {
  AuthError,
  BadRequestError,
  ConfigError,
  EventsApiError,
  TransientError,
} from "../errors.ts";

/** A stream or consumer JetStream does not know (any more): recreating it heals. */
export function isMissingResource(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.status === 404;
}

/** The stream JetStream does not know (any more): setting it up again heals. */
export function isMissingStream(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

/** Whether nothing answered the request (no stream captures the subject, or JetStream is not up). */
export function isNoResponders(error: unknown): boolean {
  if (error instanceof natsErrors.NoRespondersError) return true;
  if (error instanceof natsErrors.RequestError && error.isNoResponders()) return true;
  return error instanceof Error && error.name === "JetStreamNotEnabled";
}

/**
 * The library error for `error`, thrown while trying to `action` (e.g.
 * `publish event`, `open stream`). Errors that are already the library's
 * pass through unchanged.
 */
export function mapNatsError(error: unknown, action: string): unknown {
  // The library's own errors and bad arguments say what they mean already.
  if (
    error instanceof EventsApiError || error instanceof ConfigError ||
    error instanceof TypeError || error instanceof RangeError
  ) {
    return error;
  }
  const cause = { cause: error };
  if (error instanceof natsErrors.AuthorizationError) {
    return new AuthError(`Cannot ${action}: the NATS server refused the credentials`, {
      ...cause,
      code: "invalid_auth",
    });
  }
  if (error instanceof natsErrors.UserAuthenticationExpiredError) {
    return new AuthError(`Cannot ${action}: the NATS credentials expired`, {
      ...cause,
      code: "auth_expired",
    });
  }
  if (error instanceof natsErrors.PermissionViolationError) {
    return new AuthError(
      `Cannot ${action}: the NATS user may not ${error.operation} on ${error.subject}`,
      { ...cause, code: "permission_denied" },
    );
  }
  if (
    error instanceof natsErrors.ClosedConnectionError ||
    error instanceof natsErrors.DrainingConnectionError
  ) {
    // Not transient: a closed connection never comes back, so a listener stops.
    return new EventsApiError(`Cannot ${action}: the NATS connection is closed`, {
      ...cause,
      code: "closed",
    });
  }
  if (error instanceof natsErrors.InvalidArgumentError && /max_payload/.test(error.message)) {
    return new BadRequestError(
      `Cannot ${action}: the event is larger than the NATS server's max_payload`,
      { ...cause, code: "payload_too_large" },
    );
  }
  if (error instanceof JetStreamApiError && error.status === 400) {
    return new BadRequestError(`Cannot ${action}: JetStream rejected the request (${error.code})`, {
      ...cause,
      status: 400,
      code: `jetstream_${error.code}`,
    });
  }
  if (error instanceof natsErrors.TimeoutError) {
    return new TransientError(`Cannot ${action}: the NATS server did not answer in time`, {
      ...cause,
      code: "timeout",
    });
  }
  if (isNoResponders(error)) {
    return new TransientError(`Cannot ${action}: JetStream did not answer (no responders)`, {
      ...cause,
      code: "no_responders",
    });
  }
  if (error instanceof natsErrors.ConnectionError) {
    return new TransientError(`Cannot ${action}: the NATS server cannot be reached`, {
      ...cause,
      code: "network",
    });
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientError(`Cannot ${action}: NATS failed (${name})`, { ...cause, code: "nats" });
}
