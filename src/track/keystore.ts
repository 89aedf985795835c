import type { Database } from "bun:sqlite";
import { keyringRow, keyringVersion, putKeyringRow } from "../store/tracking.ts";
import { keyringFromStored, keyringToStored, newKeyring, rotateKeyring, type Keyring } from "./keyring.ts";

// The keyring kept in the store: created on first start, rotated by the CLI or the API, read
// by the API (signing) and the listener (verifying) on their own connections. Each reader
// keeps the ring in memory and looks at its version at most once per `checkEveryMs`, so a
// rotation made anywhere — another process included — reaches every reader within that time
// without a restart. Secrets never leave this module except inside a Keyring.

export class KeyringError extends Error {
  override name = "KeyringError";
}

/** The stored ring, made (key 0) and stored when there is none. One BEGIN IMMEDIATE: two starters make one ring. */
export function ensureKeyring(db: Database, now = Date.now()): Keyring {
  return db
    .transaction(() => {
      const row = keyringRow(db);
      if (row) return parse(row.ring);
      const ring = newKeyring();
      putKeyringRow(db, JSON.stringify(keyringToStored(ring)), now);
      return ring;
    })
    .immediate();
}

/**
 * A new current key; the old one keeps verifying for `verifyForMs`. Throws KeyringError when
 * all 256 key ids are still in use (rotated too often within `verifyForMs`).
 */
export function rotateStoredKeyring(db: Database, verifyForMs: number, now = Date.now()): Keyring {
  return db
    .transaction(() => {
      const row = keyringRow(db);
      const ring = row ? parse(row.ring) : newKeyring();
      let next: Keyring;
      try {
        next = rotateKeyring(ring, { nowSec: Math.floor(now / 1000), verifyForSec: Math.ceil(verifyForMs / 1000) });
      } catch (err) {
        throw new KeyringError((err as Error).message);
      }
      putKeyringRow(db, JSON.stringify(keyringToStored(next)), now);
      return next;
    })
    .immediate();
}

export type KeyView = { id: number; current: boolean; retires_at: string | null };

/** What may be shown of a ring: ids and retirement times, never a secret. */
export function keyViews(ring: Keyring): KeyView[] {
  return ring.keys
    .map((k) => ({
      id: k.id,
      current: k.id === ring.currentId,
      retires_at: k.id === ring.currentId || k.retiresAt === undefined ? null : new Date(k.retiresAt * 1000).toISOString(),
    }))
    .sort((a, b) => Number(b.current) - Number(a.current) || a.id - b.id);
}

export type KeyringSource = { get(): Keyring; refresh(): Keyring };

/** The stored ring as it is now, re-read when its version changed (checked at most once per `checkEveryMs`). */
export function keyringSource(db: Database, opts: { checkEveryMs?: number; now?: () => number } = {}): KeyringSource {
  const checkEveryMs = opts.checkEveryMs ?? 1000;
  const now = opts.now ?? Date.now;
  let ring: Keyring | null = null;
  let version = -1;
  let checkedAt = 0;
  const refresh = (): Keyring => {
    checkedAt = now();
    const v = keyringVersion(db);
    if (ring && v === version) return ring;
    const row = keyringRow(db);
    if (!row) throw new KeyringError("no tracking keyring in the store");
    ring = parse(row.ring);
    version = row.version;
    return ring;
  };
  return {
    get: () => (ring && now() - checkedAt < checkEveryMs ? ring : refresh()),
    refresh,
  };
}

// The stored text is checked like any input; the error names the field, never a value.
function parse(text: string): Keyring {
  try {
    return keyringFromStored(JSON.parse(text));
  } catch (err) {
    const issue = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0];
    const where = issue ? `${issue.path.join(".") || "ring"}: ${issue.message}` : "not JSON";
    throw new KeyringError(`the stored tracking keyring is not valid (${where})`);
  }
}
