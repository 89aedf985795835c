import type { Store } from "../store/driver.ts";
import type { CampaignRow } from "./events.ts";
import type { Keyring } from "./keyring.ts";
import { KeyringError, type KeyringSource } from "./keystore.ts";
import { verifyMailToken, type MailTokenKind } from "./mail-tokens.ts";

// What the feedback intake injects to read the tokens of bounces+<token>@… and
// unsubscribe+<token>@…: the message and recipient the token was issued for, from the
// tracked_messages row it names (written when the milter or `hookd rewrite` tracked the mail).

/** The original message as a token names it (feedback's OriginalMessage, field for field). */
export type TokenMessage = {
  queue_id?: string;
  message_id?: string;
  rcpt_to?: string;
  mail_from?: string;
  host?: string;
  campaign_id?: string;
  tags?: string[];
  metadata?: Record<string, string | number | boolean | null>;
};

export type MailTokenVerifier = {
  verifyVerpToken(token: string): Promise<TokenMessage | null>;
  verifyUnsubscribeToken(token: string): Promise<TokenMessage | null>;
};

export function createMailTokenVerifier(store: Store, keys: KeyringSource, now: () => number = Date.now): MailTokenVerifier {
  const verify = async (kind: MailTokenKind, token: string): Promise<TokenMessage | null> => {
    let ring: Keyring;
    try {
      ring = await keys.get();
    } catch (err) {
      // No ring yet (a store no hookd serve has started on): nothing was signed, nothing verifies.
      if (err instanceof KeyringError) return null;
      throw err;
    }
    const v = verifyMailToken(kind, token, ring, Math.floor(now() / 1000));
    if ("error" in v) return null;
    const data = (await store.tracking.messages([v.ref])).get(v.ref);
    return data === undefined ? null : messageOf(data);
  };
  return {
    verifyVerpToken: (token) => verify("bounce", token),
    verifyUnsubscribeToken: (token) => verify("unsubscribe", token),
  };
}

const STRING_FIELDS = ["queue_id", "message_id", "rcpt_to", "mail_from", "host", "campaign_id"] as const;

// Written by track/ from validated input; read back defensively all the same.
function messageOf(data: string): TokenMessage | null {
  let row: CampaignRow & { mail_from?: unknown };
  try {
    row = JSON.parse(data);
  } catch {
    return null;
  }
  if (!row || typeof row !== "object" || Array.isArray(row)) return null;
  const out: TokenMessage = {};
  for (const k of STRING_FIELDS) if (typeof row[k] === "string") out[k] = row[k] as string;
  if (Array.isArray(row.tags) && row.tags.every((t) => typeof t === "string")) out.tags = row.tags;
  if (row.metadata && typeof row.metadata === "object" && !Array.isArray(row.metadata)) out.metadata = row.metadata;
  return out;
}
