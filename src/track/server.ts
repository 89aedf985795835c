import { isIP } from "node:net";
import { silentLogger, type Logger } from "../lib/log.ts";
import type { Hit } from "./events.ts";
import type { Keyring } from "./keyring.ts";
import { classifyRequest, type MachineOptions } from "./machine.ts";
import { BASE_HEADERS, CONFIRM_PAGE, DONE_PAGE, PAGE_HEADERS, PIXEL_GIF, RETRY_PAGE, textResponse } from "./pages.ts";
import { createRateLimiter, DEFAULT_RATE_LIMIT, type RateLimitOptions } from "./rate-limit.ts";
import { isTokenError, MAX_TOKEN_CHARS, verifyToken, type TokenKind } from "./tokens.ts";

// The public tracking listener. It serves exactly:
//   GET|HEAD /o/{token}  200, a 1×1 GIF                        → open
//   GET|HEAD /c/{token}  302 to the signed destination         → click
//   POST     /u/{token}  RFC 8058 one-click, 200, no redirect  → list_unsubscribe
//   GET|HEAD /u/{token}  a page whose button POSTs             (records nothing)
// Anything else — other paths and methods, a token that does not verify or is of another
// kind — is a 404 and no event. Checks run cheapest first: rate limit, header size, path,
// token (an HMAC, no database), then the body.
//
// What an answer promises:
// - The one-click 200 means the event is committed (`record` resolved). If it cannot be
//   committed (an error, or not within `commitTimeoutMs`), the answer is a 503 and the
//   provider tries again (same token, same event id: stored once).
// - The pixel and the redirect wait for the commit at most `recordWaitMs` (5 ms). Past that
//   they answer anyway; the hit stays queued in the writer and is committed when the store
//   catches up — lost only if the process dies first. A hit the writer refuses (queue full)
//   or fails to commit is counted and logged, and the reader still gets the pixel or the
//   destination: a reader's click never fails because of our disk.

export type TrackServerOptions = {
  hostname?: string;
  port?: number;
  /** The ring as it is now (rotation swaps it; the listener reads it per request). */
  keyring: () => Keyring;
  /** Commits a hit; resolves once committed (hits.ts's `enqueue`). */
  record: (hit: Hit) => Promise<void>;
  /** Unix milliseconds. */
  now?: () => number;
  machine?: MachineOptions;
  recordWaitMs?: number;
  /** How long a one-click POST waits for its commit before answering 503 (the hit stays queued). Default 10 s. */
  commitTimeoutMs?: number;
  rateLimit?: RateLimitOptions;
  maxBodyBytes?: number;
  maxHeaderBytes?: number;
  /** Whether X-Forwarded-For from this peer names the client. Default: loopback peers (a reverse proxy on this host). */
  trustProxy?: (peerIp: string) => boolean;
  log?: Logger;
};

export type TrackServerStats = {
  open: number;
  click: number;
  unsubscribe: number;
  machine: number;
  machineOpen: number;
  machineClick: number;
  notFound: number;
  rateLimited: number;
  recordSlow: number;
  recordFailed: number;
};

export type TrackServer = { url: string; port: number; stats(): TrackServerStats; stop(): Promise<void> };

const ROUTE = new RegExp(`^/([ocu])/([A-Za-z0-9_-]{1,${MAX_TOKEN_CHARS}})$`);
const KIND_OF: Record<string, TokenKind> = { o: "open", c: "click", u: "unsubscribe" };

export function startTrackServer(opts: TrackServerOptions): TrackServer {
  const handler = createTrackHandler(opts);
  const maxBody = opts.maxBodyBytes ?? 4096;
  const server = Bun.serve({
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port ?? 0,
    // Bun's own cap, a backstop behind the handler's exact one.
    maxRequestBodySize: Math.max(maxBody * 4, 16 * 1024),
    idleTimeout: 10,
    fetch: (req, srv) => handler.handle(req, srv.requestIP(req)?.address ?? ""),
    error: (err) => {
      (opts.log ?? silentLogger).error("tracking listener: request failed", { err });
      return textResponse(500, "internal error");
    },
  });
  return {
    url: `http://${server.hostname}:${server.port}`,
    port: server.port!,
    stats: handler.stats,
    stop: () => server.stop(),
  };
}

export function createTrackHandler(opts: TrackServerOptions) {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? silentLogger;
  const waitMs = opts.recordWaitMs ?? 5;
  const commitTimeoutMs = opts.commitTimeoutMs ?? 10_000;
  const maxBody = opts.maxBodyBytes ?? 4096;
  const maxHeaders = opts.maxHeaderBytes ?? 8192;
  const trust = opts.trustProxy ?? isLoopback;
  const limiter = createRateLimiter(opts.rateLimit ?? DEFAULT_RATE_LIMIT);
  const stats: TrackServerStats = {
    open: 0,
    click: 0,
    unsubscribe: 0,
    machine: 0,
    machineOpen: 0,
    machineClick: 0,
    notFound: 0,
    rateLimited: 0,
    recordSlow: 0,
    recordFailed: 0,
  };
  let lastFailureLog = 0;

  const notFound = () => {
    stats.notFound++;
    return textResponse(404, "not found");
  };

  const failed = (err: unknown) => {
    stats.recordFailed++;
    const t = now();
    if (t - lastFailureLog < 1000) return; // one line a second, not one per hit
    lastFailureLog = t;
    log.warn("tracking listener: a hit was not recorded", { err, failed_total: stats.recordFailed });
  };

  const count = (hit: Hit) => {
    stats[hit.payload.kind]++;
    if (!hit.verdict.machine) return;
    stats.machine++;
    if (hit.payload.kind === "open") stats.machineOpen++;
    else if (hit.payload.kind === "click") stats.machineClick++;
  };

  // Start the commit; wait for it at most `waitMs`.
  const recordBriefly = async (hit: Hit) => {
    let settled = false;
    let committed: Promise<void>;
    try {
      committed = opts.record(hit).then(
        () => void (settled = true),
        (err) => {
          settled = true;
          failed(err);
        },
      );
    } catch (err) {
      failed(err);
      return;
    }
    if (waitMs <= 0) return;
    await Promise.race([committed, deadline()]);
    if (!settled) stats.recordSlow++;
  };

  // One timer for all the hits that arrive within the same millisecond, not one per request
  // (a timer was a tenth of the handler's time): each waits between waitMs − 1 and waitMs.
  let tick: { at: number; passed: Promise<void> } | null = null;
  const deadline = (): Promise<void> => {
    const t = performance.now();
    if (!tick || t - tick.at >= 1) tick = { at: t, passed: new Promise<void>((r) => setTimeout(r, waitMs)) };
    return tick.passed;
  };

  const handle = async (req: Request, peer: string): Promise<Response> => {
    const at = now();
    const ip = clientIp(peer, req.headers.get("x-forwarded-for"), trust);
    const wait = limiter.take(ip, at);
    if (wait > 0) {
      stats.rateLimited++;
      return textResponse(429, "too many requests", { "Retry-After": String(wait) });
    }
    if (headerBytes(req.headers) > maxHeaders) return textResponse(431, "request headers too large");
    const m = ROUTE.exec(pathOf(req.url));
    if (!m) return notFound();
    const kind = KIND_OF[m[1]!]!;
    const method = req.method;
    const page = kind === "unsubscribe" && (method === "GET" || method === "HEAD");
    if (!(method === "GET" || method === "HEAD" || (kind === "unsubscribe" && method === "POST"))) return notFound();
    const token = m[2]!;
    const payload = verifyToken(token, opts.keyring(), Math.floor(at / 1000));
    if (isTokenError(payload) || payload.kind !== kind) return notFound();
    if (page) return new Response(CONFIRM_PAGE, { headers: PAGE_HEADERS });

    const userAgent = req.headers.get("user-agent") ?? undefined;
    const verdict = classifyRequest({ kind, method, header: (n) => req.headers.get(n), issuedAt: payload.issuedAt, now: at }, opts.machine);
    const hit: Hit = { token, payload, at, ip, verdict, ...(userAgent === undefined ? {} : { userAgent }) };

    if (kind === "unsubscribe") {
      const body = await readBody(req, maxBody);
      if (body === null) return textResponse(413, `request body larger than ${maxBody} bytes`);
      if (!(await isOneClick(body, req.headers.get("content-type"))))
        return textResponse(400, "expected the body List-Unsubscribe=One-Click");
      try {
        await withTimeout(opts.record(hit), commitTimeoutMs);
      } catch (err) {
        failed(err);
        return new Response(RETRY_PAGE, { status: 503, headers: { ...PAGE_HEADERS, "Retry-After": "60" } });
      }
      count(hit);
      return new Response(DONE_PAGE, { headers: PAGE_HEADERS });
    }

    await recordBriefly(hit);
    count(hit);
    if (kind === "open") return new Response(PIXEL_GIF, { headers: { ...BASE_HEADERS, "Content-Type": "image/gif" } });
    return new Response(null, { status: 302, headers: { ...BASE_HEADERS, Location: payload.url! } });
  };

  return { handle, stats: (): TrackServerStats => ({ ...stats }) };
}

// A commit still running at the deadline may land later; the provider's retry then makes the
// same event id, which the store keeps once.
async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  p.catch(() => {}); // a failure after the deadline has no one left to tell
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not committed within ${ms} ms`)), ms)));
  try {
    await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The path of a request URL without parsing the whole URL (hot path). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return url.slice(start, q < 0 ? url.length : q);
}

function headerBytes(h: Headers): number {
  let n = 0;
  for (const [k, v] of h) n += k.length + v.length + 4;
  return n;
}

/** The client: the peer, or — behind a trusted proxy — the last address it did not add itself. */
export function clientIp(peer: string, forwardedFor: string | null, trust: (ip: string) => boolean): string {
  if (!forwardedFor || !trust(peer)) return peer;
  const hops = forwardedFor.split(",").map((s) => s.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop)) return peer; // not what a proxy writes: trust none of it
    if (!trust(hop)) return hop;
  }
  return hops[0] ?? peer;
}

export function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");
}

/** The body, or null past `max` bytes (from Content-Length or counted while reading). */
async function readBody(req: Request, max: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) return null;
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** RFC 8058 §3.1: the body is "List-Unsubscribe=One-Click", as multipart/form-data or urlencoded. */
async function isOneClick(body: Uint8Array<ArrayBuffer>, contentType: string | null): Promise<boolean> {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "multipart/form-data") {
    try {
      const form = await new Response(body, { headers: { "Content-Type": contentType! } }).formData();
      return form.getAll("List-Unsubscribe").some((v) => typeof v === "string" && v.trim() === "One-Click");
    } catch {
      return false;
    }
  }
  // urlencoded, or no type at all (some senders omit it)
  if (type !== "" && type !== "application/x-www-form-urlencoded") return false;
  return new URLSearchParams(new TextDecoder().decode(body)).getAll("List-Unsubscribe").some((v) => v.trim() === "One-Click");
}
