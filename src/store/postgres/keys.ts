import { SQL } from "bun";
import { hashApiKey, newApiKey, type Scope } from "../api-keys.ts";
import type { ApiKeyStore, CreatedApiKey } from "../contract/admin.ts";
import type { ApiKeyInfo, ApiKeyRow } from "../rows.ts";
import type { PgContext } from "./context.ts";
import { API_KEY_COLUMNS, fromPg, toPg } from "./row-map.ts";

// API keys on PostgreSQL, as the SQLite driver keeps them (sqlite/keys.ts): only the sha256 of
// a key is stored (../api-keys.ts), each method one statement or one transaction.

// last_used_at is informational: noted at most once a minute per key, as on SQLite.
const LAST_USED_GRANULARITY_MS = 60_000;

const row = (raw: Record<string, unknown>): ApiKeyRow => fromPg(API_KEY_COLUMNS, "api_keys", raw);

function info(r: ApiKeyRow): ApiKeyInfo {
  const { hash: _hash, ...rest } = r;
  return rest;
}

export function apiKeyStore({ sql }: PgContext): ApiKeyStore {
  return {
    async create(name, scopes, now) {
      const k = newApiKey(name, scopes, now);
      await sql`INSERT INTO api_keys ${sql(toPg(API_KEY_COLUMNS, k.row))}`;
      return { key: k.key, info: info(k.row) };
    },

    createFirst(name, scopes, now) {
      // Every node of a fleet starting at once calls this. Under READ COMMITTED, two
      // transactions checking "no active key" then inserting would both insert; so the check
      // runs again after LOCK TABLE … SHARE ROW EXCLUSIVE, a mode that conflicts with itself
      // and with every write to api_keys (not with reads): the second node waits for the first
      // to commit, then sees its key. A key already there (every start but the first) is
      // answered without taking the lock.
      return sql.begin(async (tx): Promise<CreatedApiKey | null> => {
        const active = () => tx`SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1`;
        if ((await active()).length) return null;
        await tx`LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE`;
        if ((await active()).length) return null;
        const k = newApiKey(name, scopes, now);
        await tx`INSERT INTO api_keys ${sql(toPg(API_KEY_COLUMNS, k.row))}`;
        return { key: k.key, info: info(k.row) };
      });
    },

    async list() {
      const rows = await sql`SELECT * FROM api_keys ORDER BY created_at, id COLLATE "C"`;
      return rows.map((r: Record<string, unknown>) => info(row(r)));
    },

    async revoke(id, now) {
      const rows = await sql`UPDATE api_keys SET revoked_at = ${now} WHERE id = ${id} AND revoked_at IS NULL RETURNING id`;
      return rows.length > 0;
    },

    async allows(id, scope) {
      const [r] = await sql`SELECT scopes, revoked_at FROM api_keys WHERE id = ${id}`;
      return !!r && r.revoked_at === null && (r.scopes as string[]).includes(scope);
    },

    async find(key, now) {
      const [raw] = await sql`SELECT * FROM api_keys WHERE hash = ${hashApiKey(key)}`;
      if (!raw) return null;
      const r = row(raw);
      if (r.revokedAt !== null) return null;
      if (r.lastUsedAt === null || now - r.lastUsedAt > LAST_USED_GRANULARITY_MS) {
        // Best effort: a database that refuses the write (read-only, full, a lock held past
        // lock_timeout) must not turn every lookup into an error over an informational field.
        // The condition is repeated so that nodes noting the same key at once write it once.
        try {
          const noted = await sql`UPDATE api_keys SET last_used_at = ${now}
            WHERE id = ${r.id} AND (last_used_at IS NULL OR ${now}::bigint - last_used_at > ${LAST_USED_GRANULARITY_MS})
            RETURNING id`;
          if (noted.length) r.lastUsedAt = now;
        } catch (err) {
          if (!(err instanceof SQL.PostgresError)) throw err;
        }
      }
      return info(r);
    },
  };
}
