/**
 * The reference server under each runtime, in its own process under a low
 * file-descriptor limit (`prlimit --nofile`), runs out of descriptors when
 * more connections come than it may hold, and lives through it: once they
 * are gone it accepts connections again (Deno's accept loop dies there and
 * is started again; Node and Bun keep listening), the stream it had open
 * still delivers, and it stops cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { EventsClient } from "../../mod.ts";
import { prlimit } from "../_executables.ts";
import { RoleProcess } from "./_process.ts";
import { RUNTIMES, runtimes } from "./_runtimes.ts";

const START_MS = 30_000;
const STEP_MS = 15_000;
/** The server's limit, and more connections than it can hold. */
const LIMIT = 128;
const FLOOD = 300;

/**
 * How many descriptors process `pid` holds, listed by `ls` (the suite may
 * run processes but not read another's `/proc` entries: Deno lets only
 * `--allow-all` read under `/proc`).
 */
async function descriptorsOf(pid: number): Promise<number> {
  const listed = await new Deno.Command("ls", { args: [`/proc/${pid}/fd`], stderr: "null" })
    .output();
  return new TextDecoder().decode(listed.stdout).split("\n").filter((line) => line !== "").length;
}

/** Polls until process `pid` holds at least `count` descriptors, within `timeoutMs`. */
async function untilHolding(pid: number, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let held = await descriptorsOf(pid); held < count; held = await descriptorsOf(pid)) {
    if (Date.now() > deadline) {
      throw new Error(`The server holds ${held} descriptors after ${timeoutMs} ms, not ${count}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const name of RUNTIMES) {
  Deno.test({
    name:
      `reference server under ${name} out of file descriptors accepts again, keeps its stream and stops cleanly`,
    ignore: prlimit === undefined,
    fn: async () => {
      const runtime = (await runtimes())[name];
      const role = runtime.role("server", { ROLE_HEARTBEAT_MS: "0" });
      await using server = new RoleProcess(`server under ${name}`, {
        ...role,
        command: prlimit!,
        args: [`--nofile=${LIMIT}:${LIMIT}`, role.command, ...role.args],
      });
      const ready = await server.report<{ url: string; port: number; token: string }>(
        "ready",
        START_MS,
      );
      const client = new EventsClient({ baseUrl: ready.url, token: ready.token });
      const stream = await client.open({ name: "cross.descriptors.probe" });
      const delivered = stream.next();

      const flood: Deno.TcpConn[] = [];
      try {
        for (let i = 0; i < FLOOD; i++) {
          try {
            flood.push(await Deno.connect({ hostname: "127.0.0.1", port: ready.port }));
          } catch (error) {
            // Deno's server stopped listening at the first accept it could not make
            // (a connection still in its backlog then is reset).
            const stopped = error instanceof Deno.errors.ConnectionRefused ||
              error instanceof Deno.errors.ConnectionReset;
            if (stopped && flood.length > 0) break;
            throw error;
          }
        }
        // A runtime that keeps listening keeps a spare descriptor or two.
        await untilHolding(server.pid, LIMIT - 4, STEP_MS);
      } finally {
        for (const connection of flood) connection.close();
      }

      // Accepting again: a publish through a client of its own (no pooled connection).
      const fresh = new EventsClient({ baseUrl: ready.url, token: ready.token });
      let published = false;
      const deadline = Date.now() + STEP_MS;
      while (!published) {
        try {
          await fresh.publish({ name: "cross.descriptors.probe", payload: "after" });
          published = true;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`${String(error)}\n${server.context()}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      const first = await delivered;
      assert.equal(first.done, false, server.context());
      assert.equal(first.value?.payload, "after", "the stream opened before the shortage");
      await stream.close();

      server.kill("SIGTERM");
      await server.report("stopped", STEP_MS);
      assert.equal((await server.exited(STEP_MS)).code, 0, server.context());
    },
  });
}
