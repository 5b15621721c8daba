/**
 * A real nginx with the nchan module for tests: an SSE server that is not
 * ours. `startNchan()` writes a config into a temp prefix, starts nginx on a
 * free 127.0.0.1 port in the foreground (one process, so its PID is all
 * there is to stop) and serves nchan's EventSource subscriber where the
 * client streams from, `GET /api/v1/events/stream?name=<channel>`, and its
 * publisher at `POST /pub/<channel>`. The machine's own nginx service and
 * its config are never touched.
 *
 * Debian: `apt-get install nginx libnginx-mod-nchan`.
 *
 * @module
 */

const NGINX = "/usr/sbin/nginx";
const NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";

/** Why nginx with nchan cannot run here, or `undefined` when it can. */
export async function nchanMissing(): Promise<string | undefined> {
  for (const path of [NGINX, NCHAN_MODULE]) {
    try {
      await Deno.stat(path);
    } catch {
      return `${path} is missing (apt-get install nginx libnginx-mod-nchan)`;
    }
  }
  return undefined;
}

/** A running nginx + nchan. */
export interface Nchan extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the client's base URL. */
  readonly url: string;
  /** Publishes `body` to `channel` as one nchan message; resolves with the status. */
  publish(channel: string, body: string): Promise<number>;
}

/** A TCP port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function config(prefix: string, port: number): string {
  return `
load_module ${NCHAN_MODULE};
daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_max_body_size 8m;
  client_body_buffer_size 8m;
  server {
    listen 127.0.0.1:${port};
    location ~ ^/pub/([a-z0-9._-]+)$ {
      nchan_publisher http;
      nchan_channel_id $1;
      nchan_message_buffer_length 64;
    }
    location = /api/v1/events/stream {
      nchan_subscriber eventsource;
      nchan_channel_id $arg_name;
    }
  }
}
`;
}

/** Starts nginx + nchan in a temp prefix; `await using` stops it and removes the prefix. */
export async function startNchan(): Promise<Nchan> {
  const prefix = await Deno.makeTempDir({ prefix: "bus-nchan-" });
  const port = freePort();
  const conf = `${prefix}/nginx.conf`;
  await Deno.writeTextFile(conf, config(prefix, port));
  const child = new Deno.Command(NGINX, {
    args: ["-p", prefix, "-c", conf, "-e", `${prefix}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(prefix, { recursive: true }).catch(() => {});
  };
  try {
    await waitForPort(port, child.status);
  } catch (error) {
    const log = await Deno.readTextFile(`${prefix}/error.log`).catch(() => "");
    await stop();
    throw new Error(`Cannot start nginx: ${log.trim() || String(error)}`, { cause: error });
  }
  return {
    url,
    async publish(channel, body) {
      const response = await fetch(`${url}/pub/${channel}`, { method: "POST", body });
      await response.body?.cancel();
      return response.status;
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** Resolves once `port` accepts connections; rejects when the process exits first. */
async function waitForPort(port: number, exited: Promise<Deno.CommandStatus>): Promise<void> {
  let gone = false;
  exited.then(() => gone = true);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error("nginx exited at start");
    try {
      const connection = await Deno.connect({ hostname: "127.0.0.1", port });
      connection.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`nginx did not listen on ${port} within 10 s`);
}
