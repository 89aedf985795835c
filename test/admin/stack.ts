// The admin page in front of a real hookd, for the browser tests: hookd (real composition
// root, temp store, fast retries) and a real receiver, behind one Bun.serve that answers the
// page's own paths from adminRoutes() and passes everything else through to hookd.
// Once app.ts mounts adminRoutes() itself, the proxy is only a pass-through.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { adminRoutes } from "../../src/admin/static.ts";
import { startHookd, type Hookd } from "../../src/app.ts";
import { defaultConfig, type Config } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";

export type AdminStack = {
  /** Where the browser goes: the admin page and the API on one origin. */
  url: string;
  /** The admin key hookd created at first start. */
  key: string;
  hookd: Hookd;
  receiver: Receiver;
  /** POST /api/v1{path} (or another method) with the admin key. */
  api(method: string, pathname: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
};

export async function startAdminStack(opts: { retryForMs?: number; configure?: (config: Config) => void } = {}): Promise<AdminStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookd-admin-"));
  const config = defaultConfig();
  config.server.listen = "127.0.0.1:0";
  config.storage.path = path.join(dir, "hookd.db");
  config.delivery.batch_max_wait = 100;
  config.delivery.timeout = 2000;
  config.delivery.retry_for = opts.retryForMs ?? 1000;
  opts.configure?.(config);
  const keys: string[] = [];
  const receiver = await startReceiver();
  const hookd = await startHookd({
    config,
    log: silentLogger,
    announceKey: (k) => keys.push(k),
    retryPolicy: { baseMs: 50, maxMs: 200, floorAfterTimeoutMs: 50 },
  });
  const key = keys[0];
  if (!key) throw new Error("startAdminStack: hookd announced no admin key");

  const admin = adminRoutes();
  // Upstream requests still open (the SSE live tail never ends by itself); aborted at stop.
  const inFlight = new Set<AbortController>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // The SSE live tail stays open; Bun's default 10 s idle timeout would cut it.
    idleTimeout: 0,
    async fetch(req) {
      const own = await admin.fetch(req);
      if (own.status !== 404) return own;
      const u = new URL(req.url);
      const controller = new AbortController();
      req.signal.addEventListener("abort", () => controller.abort());
      inFlight.add(controller);
      const upstream = await fetch(hookd.url + u.pathname + u.search, {
        method: req.method,
        headers: req.headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        signal: controller.signal,
        redirect: "manual",
      });
      if (!upstream.headers.get("content-type")?.startsWith("text/event-stream")) {
        // Buffered, so the upstream request is over when this answer is sent.
        const body = await upstream.arrayBuffer();
        inFlight.delete(controller);
        return new Response(req.method === "HEAD" || upstream.status === 204 || upstream.status === 304 ? null : body, {
          status: upstream.status,
          headers: upstream.headers,
        });
      }
      // The SSE stream is re-wrapped: a Response that passes fetch()'s body through as is
      // keeps Bun's server.stop() waiting forever once the client has gone (Bun 1.3.14).
      const reader = upstream.body!.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(out) {
          try {
            const { value, done } = await reader.read();
            if (done) out.close();
            else out.enqueue(value);
          } catch {
            out.close();
          }
        },
        cancel() {
          controller.abort();
          inFlight.delete(controller);
        },
      });
      return new Response(body, { status: upstream.status, headers: upstream.headers });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;

  return {
    url,
    key,
    hookd,
    receiver,
    api(method, pathname, body) {
      return fetch(`${hookd.url}/api/v1${pathname}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    },
    async stop() {
      // Aborting the proxied live tails also ends them in hookd, whose stop() would
      // otherwise wait for the endless SSE responses.
      for (const c of inFlight) c.abort();
      await server.stop(true);
      await hookd.stop();
      await receiver.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
