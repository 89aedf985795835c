import { z } from "zod";

// The tracking keys as data. The current key signs new tokens; the others only verify, until
// their `retiresAt`. Rotation is a pure function of the ring and the clock, so whoever stores
// the ring (the store, later) only saves what `rotateKeyring` returns. A key id is one byte of
// every token: 256 ids, reused after their key has retired.

export const SECRET_BYTES = 32;

export type TrackingKey = {
  /** 0–255; written into every token it signs. */
  id: number;
  secret: Uint8Array;
  /** Unix seconds after which tokens of this key no longer verify; absent: no end. */
  retiresAt?: number;
};

export type Keyring = { currentId: number; keys: TrackingKey[] };

export function generateKey(id: number): TrackingKey {
  if (!Number.isInteger(id) || id < 0 || id > 255) throw new RangeError(`tracking key id: expected 0–255, got ${id}`);
  return { id, secret: crypto.getRandomValues(new Uint8Array(SECRET_BYTES)) };
}

export function newKeyring(): Keyring {
  return { currentId: 0, keys: [generateKey(0)] };
}

export function currentKey(ring: Keyring): TrackingKey {
  const key = ring.keys.find((k) => k.id === ring.currentId);
  if (!key) throw new Error(`tracking keyring: current key ${ring.currentId} is not in the ring`);
  return key;
}

/** The key that verifies tokens of `id` at `nowSec`: undefined when unknown, "retired" after its time. */
export function verifyingKey(ring: Keyring, id: number, nowSec: number): TrackingKey | "retired" | undefined {
  const key = ring.keys.find((k) => k.id === id);
  if (!key) return undefined;
  if (key.id !== ring.currentId && key.retiresAt !== undefined && nowSec >= key.retiresAt) return "retired";
  return key;
}

/**
 * A new current key; the old current key keeps verifying for `verifyForSec` (links in mail
 * already sent keep working that long), and keys already past their time leave the ring.
 */
export function rotateKeyring(ring: Keyring, opts: { nowSec: number; verifyForSec: number; key?: TrackingKey }): Keyring {
  const live = ring.keys.filter((k) => k.retiresAt === undefined || k.retiresAt > opts.nowSec || k.id === ring.currentId);
  const used = new Set(live.map((k) => k.id));
  const next = opts.key ?? generateKey(freeId(used, ring.currentId));
  if (used.has(next.id)) throw new Error(`tracking keyring: key id ${next.id} is still in use`);
  const keys = live.map((k) => (k.id === ring.currentId ? { ...k, retiresAt: opts.nowSec + opts.verifyForSec } : k));
  return { currentId: next.id, keys: [...keys, next] };
}

function freeId(used: Set<number>, after: number): number {
  for (let i = 1; i <= 256; i++) {
    const id = (after + i) % 256;
    if (!used.has(id)) return id;
  }
  throw new Error("tracking keyring: all 256 key ids are in use; wait for old keys to retire");
}

// The ring as stored (JSON, secrets in base64url): the one boundary shape, checked on load.
const StoredKey = z.strictObject({
  id: z.number().int().min(0).max(255),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/, `expected ${SECRET_BYTES} bytes in base64url`),
  retires_at: z.number().int().nonnegative().optional(),
});
export const StoredKeyring = z
  .strictObject({ current_id: z.number().int().min(0).max(255), keys: z.array(StoredKey).min(1).max(256) })
  .refine((r) => r.keys.some((k) => k.id === r.current_id), { message: "current_id names no key in keys", path: ["current_id"] })
  .refine((r) => new Set(r.keys.map((k) => k.id)).size === r.keys.length, { message: "two keys share an id", path: ["keys"] });
export type StoredKeyring = z.infer<typeof StoredKeyring>;

export function keyringToStored(ring: Keyring): StoredKeyring {
  return {
    current_id: ring.currentId,
    keys: ring.keys.map((k) => ({
      id: k.id,
      secret: Buffer.from(k.secret).toString("base64url"),
      ...(k.retiresAt === undefined ? {} : { retires_at: k.retiresAt }),
    })),
  };
}

/** Throws a ZodError naming the bad field when the stored ring is not valid. */
export function keyringFromStored(data: unknown): Keyring {
  const s = StoredKeyring.parse(data);
  return {
    currentId: s.current_id,
    keys: s.keys.map((k) => ({
      id: k.id,
      secret: new Uint8Array(Buffer.from(k.secret, "base64url")),
      ...(k.retires_at === undefined ? {} : { retiresAt: k.retires_at }),
    })),
  };
}
