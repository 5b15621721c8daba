/**
 * Echo workers under every runtime, for the scenarios that need one each.
 *
 * @module
 */

import { RoleProcess } from "./_process.ts";
import { type Runtime, type RuntimeName, RUNTIMES } from "./_runtimes.ts";

/**
 * Starts the worker role under each runtime, listening on
 * `requestName(runtime)`, owned by `stack`; resolves once every one reported
 * ready within `readyMs`.
 */
export async function startWorkers(
  all: Record<RuntimeName, Runtime>,
  stack: AsyncDisposableStack,
  env: Record<string, string>,
  requestName: (name: RuntimeName) => string,
  readyMs: number,
): Promise<RoleProcess[]> {
  const workers = RUNTIMES.map((name) =>
    stack.use(
      new RoleProcess(
        `worker under ${name}`,
        all[name].role("worker", { ...env, ROLE_REQUEST_NAME: requestName(name) }),
      ),
    )
  );
  await Promise.all(workers.map((worker) => worker.report("ready", readyMs)));
  return workers;
}
