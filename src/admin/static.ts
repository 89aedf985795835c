import { Hono, type Context } from "hono";
import indexHtml from "../../public/index.html" with { type: "text" };
import adminJs from "../../public/admin.js" with { type: "text" };
import adminCss from "../../public/admin.css" with { type: "text" };

// The admin page: three files from public/, embedded in the binary, served from memory.
// No build step and nothing from a CDN: hookd runs on mail hosts that are often offline.

type Asset = { body: string; type: string; etag: string };

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${Bun.hash(body).toString(36)}"` };
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

/** GET / (the page), /admin.js and /admin.css. Mount with `app.route("/", adminRoutes())`. */
export function adminRoutes(): Hono {
  // The .html typing says HTMLBundle; imported as text it is the file's contents.
  const page = asset(indexHtml as unknown as string, "text/html; charset=utf-8");
  const js = asset(adminJs, "text/javascript; charset=utf-8");
  const css = asset(adminCss, "text/css; charset=utf-8");
  const app = new Hono();
  app.get("/", (c) => serve(c, page));
  app.get("/admin.js", (c) => serve(c, js));
  app.get("/admin.css", (c) => serve(c, css));
  return app;
}
