import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

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

// Past this much the client is not worth a clean connection: cancel and close.
const DRAIN_BYTES = 64 * 1024 * 1024;

/** Bytes of request bodies held at once; a request that would pass the limit is refused, not queued. */
export class BodyBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  release(n: number): void {
    this.used = Math.max(0, this.used - n);
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
  /** The client went away or sent a body Bun could not frame (Bun answered it with a bare 400). */
  onBodyAborted?: (c: Context) => void;
};

class BodyTimeout extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BodyTimeout()), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
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
  const aborted = (c: Context) => {
    opts.onBodyAborted?.(c);
    return new ApiError({ message: "request body ended before it was complete", code: "malformed_body" }, { Connection: "close" });
  };

  return async (c, next) => {
    const raw = c.req.raw;
    const declared = raw.headers.get("content-length");
    const chunked = raw.headers.has("transfer-encoding");
    if (!chunked && (declared === null || Number(declared) === 0)) return next();
    if (!chunked) {
      const size = Number(declared);
      if (!(size >= 0)) throw new ApiError({ message: "Content-Length is not a number", field: "Content-Length", code: "invalid_value" }, { Connection: "close" });
      if (size > maxBytes) throw tooLarge(false);
      if (!budget.take(size)) throw busy();
      try {
        let bytes: ArrayBuffer;
        try {
          bytes = await withDeadline(raw.arrayBuffer(), timeoutMs);
        } catch (err) {
          throw err instanceof BodyTimeout ? timedOut() : aborted(c);
        }
        c.req.raw = new Request(raw, { body: bytes });
        await next();
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
          throw err instanceof BodyTimeout ? timedOut() : aborted(c);
        }
        if (part.done) break;
        size += part.value.byteLength;
        if (size <= maxBytes) {
          if (!budget.take(part.value.byteLength)) {
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
      c.req.raw = new Request(raw, { body: whole });
      await next();
    } finally {
      budget.release(held);
    }
  };
}
