import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";
import { MAX_JSON_DEPTH, tooDeep } from "./json-scan.ts";

// Every request body the API takes is read here, whole, before a route sees it: bounded in
// size (server.max_body_size), in time (server.body_timeout) and in how many bytes all
// requests may hold at once (the budget), so neither one client nor many can make hookd
// hold memory or requests without end.
//
// A body with a Content-Length is read with arrayBuffer() and its `body` stream is never
// touched: in Bun, a request whose `body` getter was read before the body arrived never
// settles if the client then goes away — each such request stayed pending for good
// (~12 KB each, and server.stop() waited on them forever). A chunked body has no length
// to judge up front; it is read through its stream chunk by chunk, over the limit read to
// its end (and dropped) before the 413 up to a ceiling, so the rest of it is not left in
// the socket where Bun would read it as the client's next request.

// The bytes read are handed to hono's body cache, so c.req.json() and the validators read
// them without another copy, and a route that parses them itself takes them (takeBody) so
// they can be freed once parsed. A JSON body nested too deep is refused here, for every
// route, before anything parses it.

// Past this much the client is not worth a clean connection: cancel and close.
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Bytes of request bodies held at once. A request waits its turn (first come, first
 * served) for a while before it is refused: a burst of large POSTs is taken one after the
 * other instead of all at once. Bun receives a waiting request's body all the same, so
 * what may wait is bounded too (`queueLimit`, default 3 × limit): past it, refused at once.
 */
export class BodyBudget {
  private used = 0;
  private queued = 0;
  private readonly waiting: { n: number; grant: () => void }[] = [];
  constructor(
    readonly limit: number,
    readonly queueLimit = 3 * limit,
  ) {}

  /**
   * Resolves true once `n` bytes are reserved; false if that did not happen within `waitMs`
   * or `signal` aborted first (the client left while it waited).
   */
  acquire(n: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.waiting.length === 0 && this.used + n <= this.limit) {
      this.used += n;
      return Promise.resolve(true);
    }
    if (signal?.aborted || this.queued + n > this.queueLimit) return Promise.resolve(false);
    this.queued += n;
    return new Promise((resolve) => {
      const giveUp = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", giveUp);
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        this.queued -= n;
        resolve(false);
        this.grantWaiting();
      };
      const waiter = {
        n,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", giveUp);
          this.queued -= n;
          resolve(true);
        },
      };
      const timer = setTimeout(giveUp, waitMs);
      signal?.addEventListener("abort", giveUp);
      this.waiting.push(waiter);
    });
  }

  /** Reserves `n` bytes now if they fit and nobody is waiting. */
  tryTake(n: number): boolean {
    if (this.waiting.length || this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    this.grantWaiting();
  }

  private grantWaiting(): void {
    while (this.waiting.length && this.used + this.waiting[0]!.n <= this.limit) {
      const w = this.waiting.shift()!;
      this.used += w.n;
      w.grant();
    }
  }

  get inUse(): number {
    return this.used;
  }
}

export type BodyLimitOptions = {
  maxBytes: number;
  /** A body must have arrived whole this long after the request began. */
  timeoutMs: number;
  budget: BodyBudget;
  /** How long a request may wait for its share of the budget before it is answered 503. */
  budgetWaitMs: number;
  /** Who is sending: asked before the body is read (once the connection is gone, Bun no longer knows). */
  clientOf?: (c: Context) => string;
  /** The client went away or sent a body Bun could not frame (Bun answered it with a bare 400). */
  onBodyAborted?: (c: Context, client: string) => void;
};

class BodyTimeout extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BodyTimeout()), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const isJson = (type: string | undefined) => !!type && /^application\/([a-z-.]+\+)?json(;|$)/i.test(type.trim());

// hono types its body cache as values; it holds promises of them (request.js #cachedBody).
const cacheOf = (c: Context) => c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> };

/** The body, read: judged for depth when it is JSON, then put where hono's readers find it. */
async function handOver(c: Context, bytes: Uint8Array, next: () => Promise<void>): Promise<void> {
  if (isJson(c.req.header("content-type"))) {
    const deep = tooDeep(bytes);
    if (deep !== null)
      throw new ApiError({ message: `${deep}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, field: deep, code: "invalid_value" });
  }
  cacheOf(c).arrayBuffer = Promise.resolve(bytes.buffer as ArrayBuffer);
  await next();
}

/**
 * The body bodyLimit read, taken out of hono's cache: once the caller drops it, its memory
 * can be freed before the request ends. Empty when there was none.
 */
export async function takeBody(c: Context): Promise<ArrayBuffer> {
  const cache = cacheOf(c);
  const cached = cache.arrayBuffer;
  delete cache.arrayBuffer;
  return cached ? await cached : new ArrayBuffer(0);
}

export function bodyLimit(opts: BodyLimitOptions): MiddlewareHandler {
  const { maxBytes, timeoutMs, budget } = opts;
  const tooLarge = (close: boolean) =>
    new ApiError(
      { message: `request body is larger than server.max_body_size (${maxBytes} bytes)`, code: "payload_too_large" },
      close ? { Connection: "close" } : {},
    );
  const busy = () =>
    new ApiError(
      { message: "hookd is holding as many request bodies as it allows at once; retry shortly", code: "server_busy" },
      { "Retry-After": "1", Connection: "close" },
    );
  const timedOut = () =>
    new ApiError(
      { message: `request body did not arrive within server.body_timeout (${timeoutMs} ms)`, code: "request_timeout" },
      { Connection: "close" },
    );
  const aborted = (c: Context, client: string) => {
    opts.onBodyAborted?.(c, client);
    return new ApiError({ message: "request body ended before it was complete", code: "malformed_body" }, { Connection: "close" });
  };

  return async (c, next) => {
    const raw = c.req.raw;
    const client = opts.clientOf?.(c) ?? "unknown";
    const declared = raw.headers.get("content-length");
    const chunked = raw.headers.has("transfer-encoding");
    if (!chunked && (declared === null || Number(declared) === 0)) return next();
    if (!chunked) {
      const size = Number(declared);
      if (!(size >= 0))
        throw new ApiError(
          { message: "Content-Length is not a number", field: "Content-Length", code: "invalid_value" },
          { Connection: "close" },
        );
      if (size > maxBytes) throw tooLarge(false);
      if (!(await budget.acquire(size, opts.budgetWaitMs, raw.signal))) throw raw.signal.aborted ? aborted(c, client) : busy();
      try {
        let bytes: ArrayBuffer;
        try {
          bytes = await withDeadline(raw.arrayBuffer(), timeoutMs);
        } catch (err) {
          throw err instanceof BodyTimeout ? timedOut() : aborted(c, client);
        }
        await handOver(c, new Uint8Array(bytes), next);
      } finally {
        budget.release(size);
      }
      return;
    }

    // Chunked: bytes are taken from the budget as they arrive.
    const chunks: Uint8Array[] = [];
    let size = 0;
    let held = 0;
    const reader = raw.body!.getReader();
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        let part: Awaited<ReturnType<typeof reader.read>>;
        try {
          part = await withDeadline(reader.read(), Math.max(1, deadline - Date.now()));
        } catch (err) {
          await reader.cancel().catch(() => {});
          throw err instanceof BodyTimeout ? timedOut() : aborted(c, client);
        }
        if (part.done) break;
        size += part.value.byteLength;
        if (size <= maxBytes) {
          if (!budget.tryTake(part.value.byteLength)) {
            await reader.cancel().catch(() => {});
            throw busy();
          }
          held += part.value.byteLength;
          chunks.push(part.value);
        } else if (size > maxBytes + DRAIN_BYTES) {
          await reader.cancel().catch(() => {});
          throw tooLarge(true);
        }
      }
      if (size > maxBytes) throw tooLarge(false);
      const whole = new Uint8Array(size);
      let at = 0;
      for (const ch of chunks) {
        whole.set(ch, at);
        at += ch.byteLength;
      }
      chunks.length = 0;
      await handOver(c, whole, next);
    } finally {
      budget.release(held);
    }
  };
}
