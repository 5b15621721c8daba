/**
 * Runs a telemetry middleware only while an OpenTelemetry SDK is
 * registered: without one, its spans and instruments would be no-ops, yet
 * building them cost about as much per event as a trivial handler.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { telemetryLive } from "../tracing/live.ts";
import type { HandlerMiddleware } from "./compose.ts";

/** `middleware` while `telemetryLive()`, else a step straight to `next`. */
export function whileTelemetryLive(middleware: HandlerMiddleware): HandlerMiddleware {
  return (event, context, next) => telemetryLive() ? middleware(event, context, next) : next();
}
