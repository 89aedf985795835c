import { and, eq, isNull, sql } from "drizzle-orm";
import { hashApiKey, newApiKey, type Scope } from "../api-keys.ts";
import type { CreatedApiKey } from "../contract/admin.ts";
import type { ApiKeyInfo, ApiKeyRow } from "../rows.ts";
import type { Drizzle } from "./db.ts";
import { isSqliteError } from "./errors.ts";
import { apiKeys } from "./schema.ts";

function info(row: ApiKeyRow): ApiKeyInfo {
  const { hash: _hash, ...rest } = row;
  return rest;
}

export function createApiKey(db: Drizzle, name: string, scopes: readonly Scope[], now = Date.now()): CreatedApiKey {
  const { key, row } = newApiKey(name, scopes, now);
  db.insert(apiKeys).values(row).run();
  return { key, info: info(row) };
}

/** A key only when no active one exists (the first start), in one write transaction: two starters make one. */
export function createFirstApiKey(db: Drizzle, name: string, scopes: readonly Scope[], now = Date.now()): CreatedApiKey | null {
  return db.transaction(() => (countActiveApiKeys(db) === 0 ? createApiKey(db, name, scopes, now) : null), { behavior: "immediate" });
}

export function listApiKeys(db: Drizzle): ApiKeyInfo[] {
  return db.select().from(apiKeys).orderBy(apiKeys.createdAt, apiKeys.id).all().map(info);
}

export function countActiveApiKeys(db: Drizzle): number {
  return db.select({ id: apiKeys.id }).from(apiKeys).where(isNull(apiKeys.revokedAt)).all().length;
}

/** Returns false when there is no such key or it was already revoked. */
export function revokeApiKey(db: Drizzle, id: string, now = Date.now()): boolean {
  const res = db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id })
    .all();
  return res.length > 0;
}

/** Whether the key still exists, is not revoked and holds `scope` (a long-lived stream asks now and then). */
export function apiKeyAllows(db: Drizzle, id: string, scope: Scope): boolean {
  const row = db.select({ scopes: apiKeys.scopes, revokedAt: apiKeys.revokedAt }).from(apiKeys).where(eq(apiKeys.id, id)).get();
  return !!row && row.revokedAt === null && row.scopes.includes(scope);
}

// Every API request looks its key up: prepare that query once per connection.
const byHash = new WeakMap<Drizzle, { get(p: { hash: string }): ApiKeyRow | undefined }>();

// last_used_at is informational; writing it on every request would put a write on every
// read. Once a minute per key is enough to tell stale keys apart.
const LAST_USED_GRANULARITY_MS = 60_000;

export function findApiKey(db: Drizzle, key: string, now = Date.now()): ApiKeyInfo | null {
  let q = byHash.get(db);
  if (!q) {
    q = db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.hash, sql.placeholder("hash")))
      .prepare();
    byHash.set(db, q);
  }
  const row = q.get({ hash: hashApiKey(key) });
  if (!row || row.revokedAt !== null) return null;
  if (row.lastUsedAt === null || now - row.lastUsedAt > LAST_USED_GRANULARITY_MS) {
    // Best effort: a store that cannot take writes (disk full, locked past busy_timeout)
    // must not turn every read into an error over an informational field.
    try {
      db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id)).run();
      row.lastUsedAt = now;
    } catch (err) {
      if (!isSqliteError(err)) throw err;
    }
  }
  return info(row);
}
