import type { KeyringRow, MinuteCounts, TrackingStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { pgText } from "./events-insert.ts";
import { hitsUnit } from "./tracking-hits.ts";
import { int8 } from "./values.ts";

// Tracking on PostgreSQL: the keyring row, tracked messages, the hits' commit
// (tracking-hits.ts) and the minute counts, each method one transaction or one read.

type MinuteRow = MinuteCounts & { minute: unknown };

export function trackingStore(ctx: PgContext): TrackingStore {
  const { sql } = ctx;
  return {
    async keyring() {
      const [row] = (await sql`SELECT ring, version FROM tracking_keyring WHERE id = 1`) as KeyringRow[];
      return row ? { ring: row.ring, version: row.version } : null;
    },

    async keyringVersion() {
      const [row] = (await sql`SELECT version FROM tracking_keyring WHERE id = 1`) as { version: number }[];
      return row?.version ?? 0;
    },

    updateKeyring: (update, now) =>
      sql.begin(async (tx): Promise<KeyringRow | null> => {
        // Writers one at a time, across nodes too, and before the read: two nodes creating the
        // first ring at once would otherwise each see none, and the second overwrite the
        // first's. SHARE ROW EXCLUSIVE conflicts with itself and with writes, not with reads.
        await tx`LOCK TABLE tracking_keyring IN SHARE ROW EXCLUSIVE MODE`;
        const [row] = (await tx`SELECT ring, version FROM tracking_keyring WHERE id = 1`) as KeyringRow[];
        const current = row ? { ring: row.ring, version: row.version } : null;
        const next = update(current?.ring ?? null); // a throw rolls back: nothing written, the call rejects
        if (next === null) return current;
        const [written] = (await tx`INSERT INTO tracking_keyring (id, ring, version, updated_at) VALUES (1, ${pgText(next)}, 1, ${now})
          ON CONFLICT (id) DO UPDATE SET ring = excluded.ring, version = tracking_keyring.version + 1, updated_at = excluded.updated_at
          RETURNING version`) as { version: number }[];
        return { ring: next, version: written!.version };
      }),

    // Durable when it resolves, whatever the connection's durability.
    async insertMessages(data, now) {
      if (data.length === 0) return [];
      const rows = (await sql.unsafe(
        `INSERT INTO tracked_messages (created_at, data)
         SELECT $2, x.value FROM json_array_elements_text($1::text::json) WITH ORDINALITY AS x(value, i) ORDER BY x.i
         RETURNING id`,
        [JSON.stringify(data.map((d) => pgText(d))), now],
      )) as { id: unknown }[];
      // Ids were given in the data's order; RETURNING's order is not promised.
      return rows.map((r) => int8(r.id, "tracked_messages.id")).sort((a, b) => a - b);
    },

    async messages(ids) {
      const out = new Map<number, string>();
      const wanted = ids.filter((id) => Number.isSafeInteger(id));
      if (wanted.length === 0) return out;
      const rows = (await sql.unsafe(
        "SELECT id, data FROM tracked_messages WHERE id IN (SELECT value::bigint FROM json_array_elements_text($1::text::json))",
        [JSON.stringify(wanted.map(String))],
      )) as { id: unknown; data: string }[];
      const found = new Map(rows.map((r) => [int8(r.id, "tracked_messages.id"), r.data] as const));
      for (const id of wanted) {
        const data = found.get(id);
        if (data !== undefined) out.set(id, data); // in the order asked, as SQLite's
      }
      return out;
    },

    commitHits: hitsUnit(ctx),

    async minuteCounts(from, to) {
      const rows = (await sql`SELECT minute, opens, machine_opens, clicks, machine_clicks, unsubscribes FROM tracking_minutes
                              WHERE minute >= ${from}::bigint AND minute < ${to}::bigint ORDER BY minute`) as MinuteRow[];
      return rows.map((r) => ({ ...r, minute: int8(r.minute, "tracking_minutes.minute") }));
    },

    async pruneMinutes(minute) {
      const r = await sql`DELETE FROM tracking_minutes WHERE minute < ${minute}::bigint`;
      return r.count;
    },
  };
}
