import { createHash } from "node:crypto";

/** What makes an event the same event when its line is read again. */
export interface EventIdentity {
  type: string;
  host: string;
  /** Correlation scope (Postfix instance); "" when none. Keeps two instances' twin lines apart. */
  scope: string;
  queueId?: string;
  rcpt?: string;
  timestamp: string;
  attempt?: number;
  /** For events without a queue id (NOQUEUE rejections): whatever else tells them apart. */
  extra?: string;
}

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Deterministic event_id: the first 16 bytes of SHA-256 over the identity, in lower-case
 * Crockford base32 (26 characters, URL- and header-safe). Re-reading a line after a restart
 * gives the same id, so receivers (and the store) can drop the duplicate.
 */
export function eventId(id: EventIdentity): string {
  const input = [id.type, id.host, id.scope, id.queueId ?? "", id.rcpt ?? "", id.timestamp, id.attempt ?? "", id.extra ?? ""].join("\x1f");
  return base32(createHash("sha256").update(input).digest().subarray(0, 16));
}

function base32(bytes: Uint8Array): string {
  let out = "";
  let buf = 0;
  let bits = 0;
  for (const b of bytes) {
    buf = (buf << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(buf >>> bits) & 31];
    }
    buf &= (1 << bits) - 1;
  }
  if (bits > 0) out += CROCKFORD[(buf << (5 - bits)) & 31];
  return out;
}
