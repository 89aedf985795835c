// Many nodes delivering from one PostgreSQL, simulated in one process (each node its own
// connection, as each hookd would have): writers insert events under the event lock, every
// node runs passes that lock the webhooks it will serve (FOR UPDATE SKIP LOCKED), cuts their
// next batch from the cursor, claims each webhook's head batch with a lease, "sends" it and
// records it. One node dies holding a lease; another sends that batch after the lease expires.
// At the end every webhook must have every event, in order, each batch cut once.
//   bun bench/pg-spike/fleet-sim.ts        (NODES=3 WEBHOOKS=100 EVENTS=20000)
import type { SQL } from "bun";
import { connect, table, withPg } from "./common.ts";

const NODES = Number(process.env.NODES ?? 3);
const WEBHOOKS = Number(process.env.WEBHOOKS ?? 100);
const EVENTS = Number(process.env.EVENTS ?? 20_000);
const BATCH = 500;
const LEASE_MS = 1500;
const EVENT_LOCK = 0x686f6f6b6402;

const SCHEMA = `
CREATE TABLE webhooks (id text PRIMARY KEY, cursor_seq bigint NOT NULL DEFAULT 0);
CREATE TABLE events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id text UNIQUE NOT NULL, body text NOT NULL);
-- ord: a webhook's batches in the order they were cut. Not created_at: nodes' clocks differ,
-- and a batch cut later on a node whose clock is behind would sort first.
CREATE TABLE batches (
  id text PRIMARY KEY, ord bigint GENERATED ALWAYS AS IDENTITY, webhook_id text NOT NULL REFERENCES webhooks(id),
  state text NOT NULL DEFAULT 'pending', first_seq bigint NOT NULL, last_seq bigint NOT NULL,
  lease_token text, lease_until bigint, attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX batches_head ON batches (webhook_id, ord) WHERE state = 'pending';`;

// One pass, two statements in one transaction. The first locks the webhooks no other node is
// serving (FOR UPDATE SKIP LOCKED). The second runs on a fresh snapshot (READ COMMITTED takes
// one per statement): it must see what the node that held a lock committed before releasing
// it. Locking and reading in one statement reads a snapshot older than the locks it took —
// measured: a batch another node had just leased or delivered was claimed again (SIMPLE=1
// runs that version: one statement, conditions checked on the CTE's rows).
const LOCK = `SELECT id, cursor_seq FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE SKIP LOCKED`;
// Cut each locked webhook's next batch from its cursor (batch and cursor commit together, under
// the row lock: a batch is cut once), then lease each locked webhook's head batch if free.
// The claim re-checks state and lease on the row itself: a row another node changed is
// re-evaluated on its newest version, the CTE's values are not.
const lockedCte = (simple: boolean) =>
  `locked AS (SELECT id, cursor_seq FROM webhooks WHERE id = ANY($3::text[])${simple ? " ORDER BY id FOR UPDATE SKIP LOCKED" : ""})`;
const CUT_AND_CLAIM = (simple: boolean) => `
WITH ${lockedCte(simple)}, cut AS (
  SELECT l.id AS webhook_id, min(e.seq) AS first_seq, max(e.seq) AS last_seq
  FROM locked l CROSS JOIN LATERAL (
    SELECT seq FROM events WHERE seq > l.cursor_seq ORDER BY seq LIMIT ${BATCH}) e
  WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.webhook_id = l.id AND b.state = 'pending' OFFSET 1)
  GROUP BY l.id
), stored AS (
  INSERT INTO batches (id, webhook_id, first_seq, last_seq)
  SELECT $1 || webhook_id || '_' || last_seq, webhook_id, first_seq, last_seq FROM cut RETURNING webhook_id, last_seq
), moved AS (
  UPDATE webhooks w SET cursor_seq = s.last_seq FROM stored s WHERE w.id = s.webhook_id RETURNING w.id
), heads AS (
  SELECT DISTINCT ON (b.webhook_id) b.id, b.lease_until FROM batches b JOIN locked l ON l.id = b.webhook_id
  WHERE b.state = 'pending' ORDER BY b.webhook_id, b.ord
)
UPDATE batches b SET lease_token = $1 || b.id, lease_until = $2::bigint + ${LEASE_MS}, attempts = attempts + 1
FROM heads h WHERE b.id = h.id AND ${simple ? "(h.lease_until IS NULL OR h.lease_until < $2::bigint)" : "b.state = 'pending' AND (b.lease_until IS NULL OR b.lease_until < $2::bigint)"}
RETURNING b.id, b.webhook_id, b.first_seq::float8 AS first_seq, b.last_seq::float8 AS last_seq, b.lease_token`;
// (moved is not read: PostgreSQL runs every data-modifying WITH whether or not it is read.)
const SIMPLE = process.env.SIMPLE === "1";

type Claimed = { id: string; webhook_id: string; first_seq: number; last_seq: number; lease_token: string };
type Delivery = { webhook: string; batch: string; first: number; last: number; node: number };

await withPg(async (pg) => {
  const admin = connect(pg.url, 2);
  await admin.unsafe(SCHEMA);
  const hooks = Array.from({ length: WEBHOOKS }, (_, i) => `wh${String(i).padStart(3, "0")}`);
  await admin`INSERT INTO webhooks (id) SELECT unnest(${admin.array(hooks, "TEXT")}::text[])`;

  const received: Delivery[] = [];
  const inFlight = new Map<string, number>();
  let overlap = 0;
  let passes = 0;
  const passMs: number[] = [];
  let lateRecords = 0;
  let leftLeased = 0;
  let writing = true;

  // Three writers, as three nodes' ingest: 100-row transactions under the event lock.
  const writers = Array.from({ length: 3 }, (_, k) => {
    const w = connect(pg.url);
    return (async () => {
      for (let n = 0; n * 100 * 3 < EVENTS; n++) {
        await w.begin(async (tx) => {
          await tx`SELECT pg_advisory_xact_lock(${EVENT_LOCK}::bigint)`;
          await tx`INSERT INTO events (event_id, body) SELECT ${`n${k}-${n}-`} || i, '{}' FROM generate_series(1, 100) i`;
        });
      }
      await w.close();
    })();
  });

  async function node(k: number, dieAfterClaims: number | null) {
    const sql: SQL = connect(pg.url);
    let claims = 0;
    let dead = false;
    // Once the writers are done, a node stops after idling past two leases (a dead node's leases expire meanwhile).
    for (let idleSince = performance.now(); writing || performance.now() - idleSince < 2 * LEASE_MS; ) {
      passes++;
      const passStart = performance.now();
      const claimed = (
        SIMPLE
          ? await sql.unsafe(CUT_AND_CLAIM(true), [`n${k}_`, Date.now(), sql.array(hooks, "TEXT")])
          : await sql.begin(async (tx) => {
              const locked = (await tx.unsafe(LOCK, [tx.array(hooks, "TEXT")])) as { id: string }[];
              if (!locked.length) return [];
              return tx.unsafe(CUT_AND_CLAIM(false), [
                `n${k}_`,
                Date.now(),
                tx.array(
                  locked.map((l) => l.id),
                  "TEXT",
                ),
              ]);
            })
      ) as Claimed[];
      passMs.push(performance.now() - passStart);
      if (!claimed.length) {
        await Bun.sleep(5);
        continue;
      }
      idleSince = performance.now();
      await Promise.all(
        claimed.map(async (c) => {
          if (inFlight.has(c.webhook_id)) overlap++;
          inFlight.set(c.webhook_id, k);
          if (dieAfterClaims !== null && ++claims >= dieAfterClaims) dead = true;
          await Bun.sleep(1 + Math.random() * 4); // the POST
          received.push({ webhook: c.webhook_id, batch: c.id, first: c.first_seq, last: c.last_seq, node: k });
          if (dead) {
            // Killed after the POST, before recording it: the leases stay until they expire.
            inFlight.delete(c.webhook_id);
            leftLeased++;
            return;
          }
          inFlight.delete(c.webhook_id);
          const r =
            await sql`UPDATE batches SET state = 'delivered', lease_token = NULL, lease_until = NULL WHERE id = ${c.id} AND lease_token = ${c.lease_token}`;
          if (r.count === 0) lateRecords++;
        }),
      );
      if (dead) break;
    }
    await sql.close();
    return k;
  }

  const t0 = performance.now();
  // Node 0 dies holding leases after its 150th claim (mid-attempt: nothing recorded, leases left).
  const nodes = Array.from({ length: NODES }, (_, k) => node(k, k === 0 && NODES > 1 ? 150 : null));
  await Promise.all(writers);
  writing = false;
  await Promise.all(nodes);
  const secs = (performance.now() - t0) / 1000;

  // Checks: every webhook got every event, batches in order, contiguous, each cut once.
  const [{ total }] = (await admin`SELECT count(*)::int AS total FROM events`) as [{ total: number }];
  const [{ maxSeq }] = (await admin`SELECT max(seq)::float8 AS "maxSeq" FROM events`) as [{ maxSeq: number }];
  let missing = 0;
  let outOfOrder = 0;
  let resent = 0;
  for (const h of hooks) {
    const got = received.filter((d) => d.webhook === h);
    const seen = new Set<string>();
    let upTo = 0;
    for (const d of got) {
      if (seen.has(d.batch)) {
        resent++;
        continue;
      }
      seen.add(d.batch);
      if (d.first <= upTo) outOfOrder++;
      upTo = Math.max(upTo, d.last);
    }
    if (upTo < maxSeq) missing++;
  }
  const [{ overlapping }] = (await admin`
    SELECT count(*)::int AS overlapping FROM batches a JOIN batches b
      ON a.webhook_id = b.webhook_id AND a.id < b.id AND a.first_seq <= b.last_seq AND b.first_seq <= a.last_seq`) as [
    { overlapping: number },
  ];
  const [{ undelivered }] = (await admin`SELECT count(*)::int AS undelivered FROM batches WHERE state <> 'delivered'`) as [
    { undelivered: number },
  ];
  table(
    `${SIMPLE ? "ONE statement (lock and read together): " : ""}${NODES} node(s), ${WEBHOOKS} webhooks, ${total} events to each (sends simulated)${NODES > 1 ? "; node 0 dies holding leases" : ""}`,
    ["figure", "value"],
    [
      ["seconds", secs.toFixed(2)],
      ["events delivered per second (all webhooks, no HTTP)", Math.round((total * WEBHOOKS) / secs)],
      ["passes", passes],
      ["pass (lock, cut, claim for 100 webhooks), p50 ms", passMs.sort((a, b) => a - b)[Math.floor(passMs.length / 2)]!.toFixed(1)],
      ["pass p99 ms", passMs[Math.floor(passMs.length * 0.99)]!.toFixed(1)],
      ["batches sent", received.length],
      ["webhooks missing events", missing],
      ["batches out of order", outOfOrder],
      ["batches the dead node sent but left leased", leftLeased],
      ["batches sent again (same id, after the lease)", resent],
      ["batches cut twice (overlapping ranges)", overlapping],
      ["a webhook's head sent by two nodes at once", overlap],
      ["outcomes refused (lease lost)", lateRecords],
      ["batches not delivered at the end", undelivered],
    ],
  );
  await admin.close();
});
