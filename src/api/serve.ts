import type { Server } from "bun";
import type { ErrorCode } from "./errors.ts";

// The API's listener. Stopping it is bounded: requests in flight get until the drain
// deadline to finish, then every connection is closed, whatever a client is still doing
// (a stalled upload, a slow reader). Bun's server.stop() waits for in-flight requests
// without end, and once called, a later stop(true) no longer closes them; so new requests
// are refused while draining and stop(true) is called once, at the end.

type Fetch = (req: Request, server: Server<undefined>) => Response | Promise<Response>;

export type ApiServer = {
  readonly port: number;
  /** Refuses new requests, waits for those in flight up to `drainMs`, then closes every connection. */
  stop(drainMs: number): Promise<void>;
};

export type ServeOptions = { hostname: string; port: number; maxRequestBodySize: number };

const DRAIN_POLL_MS = 20;

function stopping(): Response {
  const code: ErrorCode = "server_busy";
  return Response.json(
    { errors: [{ message: "hookd is stopping; retry against the next instance", code }] },
    { status: 503, headers: { Connection: "close", "Retry-After": "1", "X-Content-Type-Options": "nosniff" } },
  );
}

export function serveApi(fetch: Fetch, opts: ServeOptions): ApiServer {
  let draining = false;
  const server = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    fetch: (req, srv) => (draining ? stopping() : fetch(req, srv)),
    maxRequestBodySize: opts.maxRequestBodySize,
    // Seconds without a byte either way before Bun closes a connection (a stalled upload
    // included); the live tail sends keep-alives. body_timeout bounds an upload as a whole.
    idleTimeout: 60,
  });
  let stopped: Promise<void> | null = null;
  return {
    port: server.port ?? opts.port,
    stop(drainMs) {
      stopped ??= (async () => {
        draining = true;
        const until = Date.now() + drainMs;
        while (server.pendingRequests > 0 && Date.now() < until) await Bun.sleep(DRAIN_POLL_MS);
        await server.stop(true);
      })();
      return stopped;
    },
  };
}
