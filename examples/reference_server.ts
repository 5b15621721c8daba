/**
 * Serves the reference Events API on loopback and prints its URL and a
 * token, for trying it with curl or pointing a worker at it. Stop with
 * Ctrl-C.
 *
 * ```sh
 * deno task reference-server            # a free port
 * deno task reference-server 8080       # a chosen port
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console -- printing the URL and token is the point

import { createEventsApi } from "../testing.ts"; // "@bus/integration/testing"

const port = Number(Deno.args[0] ?? 0);
const api = createEventsApi();
const served = await api.serve({ hostname: "127.0.0.1", port });
const token = await api.mintToken({ sub: "local-user", ttlSeconds: 24 * 3600 });
console.log(`URL=${served.url}`);
console.log(`TOKEN=${token}`);
console.error("(a test token for this process only, valid 24 h; Ctrl-C stops the server)");

const stop = () => {
  api.close().then(() => Deno.exit(0));
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
