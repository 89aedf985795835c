import type { Store } from "../store/driver.ts";
import { keyringFromStored, keyringToStored, newKeyring, rotateKeyring, type Keyring } from "./keyring.ts";

// The keyring kept in the store: created on first start, rotated by the CLI or the API, read
// by the API (signing) and the listener (verifying) on their own connections. Each reader
// keeps the ring in memory and looks at its version at most once per `checkEveryMs`, so a
// rotation made anywhere — another process included — reaches every reader within that time
// without a restart. Secrets never leave this module except inside a Keyring.

export class KeyringError extends Error {
  override name = "KeyringError";
}

/** The stored ring, made (key 0) and stored when there is none. One write transaction: two starters make one ring. */
export async function ensureKeyring(store: Store, now = Date.now()): Promise<Keyring> {
  const row = await store.tracking.updateKeyring(
    (current) => (current === null ? JSON.stringify(keyringToStored(newKeyring())) : null),
    now,
  );
  if (!row) throw new KeyringError("no tracking keyring in the store");
  return parse(row.ring);
}

/**
 * A new current key; the old one keeps verifying for `verifyForMs`. Throws KeyringError when
 * all 256 key ids are still in use (rotated too often within `verifyForMs`).
 */
export async function rotateStoredKeyring(store: Store, verifyForMs: number, now = Date.now()): Promise<Keyring> {
  let next: Keyring | null = null;
  // Runs inside the store's write transaction: the ring rotated is the one stored now.
  await store.tracking.updateKeyring((current) => {
    const ring = current === null ? newKeyring() : parse(current);
    try {
      next = rotateKeyring(ring, { nowSec: Math.floor(now / 1000), verifyForSec: Math.ceil(verifyForMs / 1000) });
    } catch (err) {
      throw new KeyringError((err as Error).message);
    }
    return JSON.stringify(keyringToStored(next));
  }, now);
  return next!;
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

export type KeyringSource = { get(): Promise<Keyring>; refresh(): Promise<Keyring> };

/** The stored ring as it is now, re-read when its version changed (checked at most once per `checkEveryMs`). */
export function keyringSource(store: Store, opts: { checkEveryMs?: number; now?: () => number } = {}): KeyringSource {
  const checkEveryMs = opts.checkEveryMs ?? 1000;
  const now = opts.now ?? Date.now;
  let ring: Keyring | null = null;
  let version = -1;
  let checkedAt = 0;
  const refresh = async (): Promise<Keyring> => {
    checkedAt = now();
    const v = await store.tracking.keyringVersion();
    if (ring && v === version) return ring;
    const row = await store.tracking.keyring();
    if (!row) throw new KeyringError("no tracking keyring in the store");
    ring = parse(row.ring);
    version = row.version;
    return ring;
  };
  return {
    get: async () => (ring && now() - checkedAt < checkEveryMs ? ring : refresh()),
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
