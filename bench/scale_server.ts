/**
 * The reference Events API server for `bench/scale.ts`, run as a process of
 * its own so that the client's memory and CPU figures are the client's
 * alone: serves on a free 127.0.0.1 port with auth off and the default 15 s
 * keepalive, prints its URL as one line, and runs until killed.
 *
 * Usage: `<runtime> scale_server.{ts,js}`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- the URL line is how the parent finds the server

// The package's own name, so the npm build can compile this file for Node and Bun.
import { createEventsApi } from "@bus/integration/testing";

const api = createEventsApi({ auth: false });
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
console.log(served.url);
