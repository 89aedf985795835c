// API keys as the operator sees them, whatever store keeps them: the scopes, the key's
// format, and the hash that is all a store holds of it. Pure.

export const SCOPES = ["webhooks:read", "webhooks:write", "events:read", "events:write"] as const;
export type Scope = (typeof SCOPES)[number];

export const KEY_PREFIX = "hookd_";

/** The key as the operator sees it once; only its hash is stored. */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(30));
  return KEY_PREFIX + Buffer.from(bytes).toString("base64url");
}

export function hashApiKey(key: string): string {
  return new Bun.CryptoHasher("sha256").update(key).digest("hex");
}

/** What the key list shows of a key: its start, never enough to use it. */
export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 6);
}
