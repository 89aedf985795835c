import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

// Like hono's bodyLimit, with one difference that matters for keep-alive: a chunked body
// over the limit is read to its end (and dropped) before the 413, up to a hard ceiling.
// Answering mid-body leaves the rest of it in the socket, where Bun's server reads it as
// the start of the client's next request.

// Past this much the client is not worth a clean connection: cancel and close.
const DRAIN_BYTES = 64 * 1024 * 1024;

export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = (close: boolean) =>
    new ApiError(
      { message: `request body is larger than server.max_body_size (${maxBytes} bytes)`, code: "payload_too_large" },
      close ? { Connection: "close" } : {},
    );
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && !c.req.header("transfer-encoding")) {
      if (Number(declared) > maxBytes) throw tooLarge(false);
      return next();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size <= maxBytes) chunks.push(value);
      else if (size > maxBytes + DRAIN_BYTES) {
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
    c.req.raw = new Request(c.req.raw, { body: whole });
    await next();
  };
}
