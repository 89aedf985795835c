import type { TrackingKey } from "./keyring.ts";
import { createSigner, type TokenPayload } from "./tokens.ts";

// The three tracked URLs of one message (for one recipient, or for all of them when the
// rewrite serves several): what rewrite.ts and the List-Unsubscribe header put into mail.

/** What every token of one message names; see TokenPayload. */
export type MessageRef = Pick<TokenPayload, "host" | "queueId" | "messageId" | "rcpt" | "ref">;

export type MessageLinks = {
  pixelUrl: string;
  unsubscribeUrl: string;
  /** A click URL for `url` (absolute http or https); `canonical`: it is `new URL(x).href` already. */
  clickUrl(url: string, canonical?: boolean): string;
};

export const PATH_PREFIX = { open: "/o/", click: "/c/", unsubscribe: "/u/" } as const;

/**
 * `baseUrl` is `[tracking] base_url`: where recipients reach the listener, e.g.
 * "https://t.example.com" or "https://example.com/t" (no trailing slash needed). Throws
 * TokenPayloadError when the message fields are not valid, before any mail is changed.
 */
export function messageLinks(opts: { baseUrl: string; key: TrackingKey; issuedAt: number; message: MessageRef }): MessageLinks {
  const base = trimBase(opts.baseUrl);
  const signer = createSigner({ ...opts.message, issuedAt: opts.issuedAt }, opts.key);
  const signed = new Map<string, string>();
  return {
    pixelUrl: base + PATH_PREFIX.open + signer.sign("open"),
    unsubscribeUrl: base + PATH_PREFIX.unsubscribe + signer.sign("unsubscribe"),
    // Newsletters repeat links (logo, header, "read more"): each destination is signed once.
    clickUrl: (url, canonical = false) => {
      let link = signed.get(url);
      if (link === undefined) signed.set(url, (link = base + PATH_PREFIX.click + signer.sign("click", url, { canonical })));
      return link;
    },
  };
}

/** The base URL without a trailing slash; throws when it is not an http(s) URL without query or fragment. */
export function trimBase(baseUrl: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new Error(`tracking base_url: expected an absolute URL like "https://t.example.com", got "${baseUrl}"`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`tracking base_url: expected http or https, got "${u.protocol}"`);
  if (u.search || u.hash || u.username || u.password) throw new Error("tracking base_url: expected no query, fragment or credentials");
  return u.href.replace(/\/+$/, "");
}
