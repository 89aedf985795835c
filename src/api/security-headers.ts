import type { MiddlewareHandler } from "hono";

// Headers every response of the API listener carries, and the Content-Security-Policy of
// pages served from inline markup (/docs).

/** Browsers must take each response as the type it says (a JSON body holding "<script>" stays JSON). */
export function noSniff(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  };
}

const sha256 = (text: string) => `'sha256-${new Bun.CryptoHasher("sha256").update(text).digest("base64")}'`;

/**
 * A CSP for a self-contained page: its own inline <script> and <style> blocks (by hash, so
 * nothing injected runs), fetches to this origin only, no framing.
 */
export function inlinePageCsp(html: string): string {
  const blocks = (tag: string) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => sha256(m[1]!));
  const list = (hashes: string[]) => (hashes.length ? hashes.join(" ") : "'none'");
  return [
    "default-src 'none'",
    `script-src ${list(blocks("script"))}`,
    `style-src ${list(blocks("style"))}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
