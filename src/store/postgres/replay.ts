import type { SQL } from "bun";
import type { ReplayBatch, ReplayCutter, ReplayRow, ReplayStore } from "../contract/delivery.ts";
import { BODY_ID, packBodies, rowsParam } from "./batches-sql.ts";
import type { PgContext } from "./context.ts";
import { int8 } from "./values.ts";

// Replays on PostgreSQL: one transaction (flushed at commit) pages through the range's events
// in seq order (keyset: seq > the page's last), hands each page to the cutter, and stores what
// it returns with one statement per page. Replaying the same events for the same subscription
// and format makes the same bytes: a body already stored with them (same sha256 digest) is
// referenced again instead of stored again, as on SQLite.

const PAGE = 5000;

const PAGE_ROWS = `SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, body FROM events
  WHERE ts >= $1 AND ts < $2 AND seq > $3 ORDER BY seq LIMIT $4`;

/**
 * A page's batches. Each distinct digest (d, hex) comes with its body (cut out of one bytea
 * parameter: packBodies) and how many of the
 * page's batches use it: a stored body with that digest takes them all (refs grows; the
 * UPDATE re-checks the row, so a body freed meanwhile by another transaction is not counted
 * on), the others are inserted with ids taken up front; then the batches, in the cutter's
 * order (their ord queues them behind everything cut before).
 */
const STORE_PAGE = `WITH y AS (
    SELECT * FROM json_to_recordset($1::text::json) AS y(o int, id text, d text, n int, bytes bigint, f bigint, l bigint)
  ), nd AS (
    SELECT d, off, len, refs, decode(d, 'hex') AS digest FROM json_to_recordset($2::text::json) AS nd(d text, off int, len int, refs int)
  ), found AS (
    SELECT DISTINCT ON (bb.digest) bb.id, nd.d, nd.refs FROM batch_bodies bb JOIN nd ON bb.digest = nd.digest ORDER BY bb.digest, bb.id
  ), hit AS (
    UPDATE batch_bodies bb SET refs = bb.refs + f.refs FROM found f WHERE bb.id = f.id AND bb.refs > 0 RETURNING bb.id, f.d
  ), fresh AS (
    SELECT d, off, len, refs, digest, ${BODY_ID} AS id FROM nd WHERE d NOT IN (SELECT d FROM hit)
  ), bodies AS (
    INSERT INTO batch_bodies (id, body, refs, digest) OVERRIDING SYSTEM VALUE
    SELECT id, substring($5::bytea FROM off + 1 FOR len), refs, digest FROM fresh
  ), ids AS (
    SELECT d, id FROM hit UNION ALL SELECT d, id FROM fresh
  )
  INSERT INTO batches (id, webhook_id, kind, state, event_count, bytes, first_seq, last_seq, body, body_id, created_at, next_attempt_at)
  SELECT y.id, $3::text, 'replay', 'pending', y.n, y.bytes, y.f, y.l, '\\x'::bytea, ids.id, $4::bigint, $4::bigint
  FROM y JOIN ids ON ids.d = y.d ORDER BY y.o`;

export function replayStore(ctx: PgContext): ReplayStore {
  const { sql } = ctx;
  return {
    async countInRange(since, until) {
      const [r] = await sql`SELECT count(*) AS n FROM events WHERE ts >= ${since} AND ts < ${until}`;
      return int8((r as { n: unknown }).n, "count of events");
    },
    async backlog(webhookId) {
      const [r] = await sql`SELECT COALESCE(sum(event_count), 0) AS n FROM batches
        WHERE webhook_id = ${webhookId} AND kind = 'replay' AND state IN ('pending', 'dead')`;
      return int8((r as { n: unknown }).n, "replay backlog");
    },
    insert: (webhookId, range, cutter, now) => sql.begin((tx) => replayInTx(tx, webhookId, range, cutter, now)),
  };
}

async function replayInTx(
  tx: SQL,
  webhookId: string,
  range: { since: number; until: number },
  cutter: ReplayCutter,
  now: number,
): Promise<{ batches: number; events: number }> {
  const out = { batches: 0, events: 0 };
  const store = async (batches: readonly ReplayBatch[]) => {
    if (batches.length === 0) return;
    await storePage(tx, webhookId, batches, now);
    out.batches += batches.length;
    for (const b of batches) out.events += b.eventCount;
  };
  for (let after = 0; ; ) {
    const rows = (await tx.unsafe(PAGE_ROWS, [range.since, range.until, after, PAGE])) as ReplayRow[];
    for (const r of rows) r.seq = int8(r.seq, "events.seq");
    if (rows.length) after = rows[rows.length - 1]!.seq;
    await store(cutter.page(rows));
    if (rows.length < PAGE) break;
  }
  await store(cutter.end());
  return out;
}

async function storePage(tx: SQL, webhookId: string, batches: readonly ReplayBatch[], now: number): Promise<void> {
  const bodies = new Map<string, { d: string; body: Uint8Array; refs: number }>();
  const rows = batches.map((b, o) => {
    const d = new Bun.CryptoHasher("sha256").update(b.body).digest("hex");
    const known = bodies.get(d);
    if (known) known.refs++;
    else bodies.set(d, { d, body: b.body, refs: 1 });
    return { o, id: b.id, d, n: b.eventCount, bytes: b.body.byteLength, f: b.firstSeq, l: b.lastSeq };
  });
  const distinct = [...bodies.values()];
  const { blob, offsets } = packBodies(distinct.map((b) => b.body));
  const digests = distinct.map((b, i) => ({ d: b.d, off: offsets[i], len: b.body.byteLength, refs: b.refs }));
  await tx.unsafe(STORE_PAGE, [rowsParam(rows), rowsParam(digests), webhookId, now, blob]);
}
