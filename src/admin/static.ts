import { Hono, type Context } from "hono";
import { PAGE_FILES } from "./files.ts";

// The admin page: the files listed in files.ts, embedded in the binary, served from memory.
// No build step and nothing from a CDN: hookd runs on mail hosts that are often offline.

type Asset = { body: string; type: string; etag: string };

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** The Content-Type of a page file by its URL path; "/" is the page itself. */
export function contentType(path: string): string {
  const ext = path === "/" ? "html" : (/\.([a-z0-9]+)$/.exec(path)?.[1] ?? "");
  const type = TYPES[ext];
  if (!type) throw new Error(`admin page file ${path}: no content type for ".${ext}"; add one to TYPES in src/admin/static.ts`);
  return type;
}

function asset(path: string, body: string): Asset {
  return { body, type: contentType(path), etag: `"${Bun.hash(body).toString(36)}"` };
}

// The page only talks to its own origin; data from mail logs is rendered as text, never HTML.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function serve(c: Context, a: Asset) {
  c.header("Cache-Control", "no-cache");
  c.header("ETag", a.etag);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  if (a.type.startsWith("text/html")) {
    c.header("Content-Security-Policy", CSP);
    c.header("X-Frame-Options", "DENY");
  }
  if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
  return c.body(a.body, 200, { "Content-Type": a.type });
}

/** GET / (the page) and each of its files at its path; any other path is not the page's. Mount with `app.route("/", adminRoutes())`. */
export function adminRoutes(): Hono {
  const app = new Hono();
  for (const [path, body] of Object.entries(PAGE_FILES)) {
    const a = asset(path, body);
    app.get(path, (c) => serve(c, a));
  }
  return app;
}
