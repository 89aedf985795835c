import { createHash } from "node:crypto";

// The tracking listener's answers: fixed bytes and headers, built once.

/** A transparent 1×1 GIF (GIF89a, one palette entry marked transparent). */
export const PIXEL_GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

// On every answer: no sniffing, no Referer to the destination (the token stays with us), no
// indexing, and no cache anywhere (each fetch must reach us to count).
export const BASE_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex, nofollow",
  "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
};

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:3rem 1rem;color:#222;background:#f6f6f6}" +
  "main{max-width:28rem;margin:auto;background:#fff;padding:2rem;border-radius:8px}" +
  "h1{font-size:1.4rem;margin:0 0 1rem}button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#222;color:#fff;cursor:pointer}";

// The page's only style is allowed by its hash; nothing else may load, run or be framed, and
// the form may post only back here.
const CSP =
  `default-src 'none'; style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'; ` +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const PAGE_HEADERS: Record<string, string> = {
  ...BASE_HEADERS,
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": CSP,
  "X-Frame-Options": "DENY",
};

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">` +
    `<title>${title}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`
  );
}

// GET /u: a button, because a GET must never unsubscribe (scanners fetch every link). The form
// posts the RFC 8058 body to this same URL, so a reader's click and a mailbox provider's
// one-click take the same path.
export const CONFIRM_PAGE = page(
  "Unsubscribe",
  `<h1>Unsubscribe</h1><p>Stop receiving these emails at this address?</p>` +
    `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
    `<button type="submit">Unsubscribe</button></form>`,
);

export const DONE_PAGE = page("Unsubscribed", "<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>");

export const RETRY_PAGE = page(
  "Please try again",
  "<h1>Please try again</h1><p>Your request could not be recorded just now. Please try again in a minute.</p>",
);

export function textResponse(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { ...BASE_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...extra } });
}
