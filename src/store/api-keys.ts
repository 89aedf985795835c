import { ulid } from "ulid";
import type { ApiKeyRow } from "./rows.ts";

// API keys as the operator sees them, whatever store keeps them: the scopes, the key's
// format, and the hash that is all a store holds of it. Pure, but for the key's randomness.

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

/** A new key and the row every driver stores for it (the key itself is shown once, never stored). */
export function newApiKey(name: string, scopes: readonly Scope[], now: number): { key: string; row: ApiKeyRow } {
  const key = generateApiKey();
  return {
    key,
    row: {
      id: ulid(now).toLowerCase(),
      name,
      prefix: keyPrefix(key),
      hash: hashApiKey(key),
      scopes: [...scopes],
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    },
  };
}
