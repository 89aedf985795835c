// Chaos on a fleet: events posted to every node's API and written to two nodes' logs while a
// random node is SIGKILLed at random moments (and started again each time). Afterwards every
// event has reached the receiver; the only duplicates are whole batches sent again under the
// same webhook-id with the same body; and the database is consistent, read directly.
import type { SQL } from "bun";
import { expect, test } from "bun:test";
import { makeEvents, type EventIn } from "../helpers/delivery.ts";
import { usePostgres } from "../helpers/pg.ts";
import { sessions, waitForReceived } from "./fleet-report.ts";
import { createWebhook, useFleet, type Fleet, type FleetNode } from "./harness.ts";
import { expectedLogKeys, logKey, messageLines } from "./log-lines.ts";
import { sourceOrderProblems } from "./received.ts";

const pg = usePostgres();
const fleet = useFleet();

const TOTAL = Number(process.env.CHAOS_TOTAL ?? 100_000);
const POSTED = TOTAL / 2;
/** Messages per log node (two events each), on B and C. */
const MESSAGES = TOTAL / 8;
const CHUNK = 1_000;
const KILLS = 10;

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** Posts `events` in chunks to whichever node is up, turn by turn; a chunk cut short by a kill goes again (event_id makes it idempotent). */
async function postAll(f: Fleet, events: readonly EventIn[], stats: { reposted: number }): Promise<void> {
  let turn = 0;
  for (let i = 0; i < events.length; ) {
    const chunk = events.slice(i, i + CHUNK);
    const n = f.nodes[turn++ % f.nodes.length]!;
    if (!n.running()) continue;
    let ok = false;
    try {
      const res = await n.api("POST", "/events", chunk);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`POST /events on ${n.name} answered ${res.status}`);
      ok = true;
    } catch (err) {
      if (n.running()) throw err;
      stats.reposted++;
    }
    if (ok) i += CHUNK;
  }
}

/** Appends each log node's messages in slices over `ms`, as a busy MTA would. */
async function writeLogs(nodes: readonly FleetNode[], messages: number, ms: number): Promise<void> {
  const slices = 40;
  for (let s = 0; s < slices; s++) {
    const from = Math.floor((messages * s) / slices);
    const to = Math.floor((messages * (s + 1)) / slices);
    for (const n of nodes) n.append(messageLines(n.name, from, to));
    await Bun.sleep(ms / slices);
  }
}

async function killAtRandom(f: Fleet, kills: number, withinMs: number, log: string[]): Promise<void> {
  for (let k = 0; k < kills; k++) {
    await Bun.sleep(Math.random() * ((2 * withinMs) / kills));
    const n = pick(f.nodes);
    await n.kill();
    log.push(`${Date.now()} kill ${n.name}`);
    await n.start();
  }
}

type Row = Record<string, unknown>;
const q = async (sql: SQL, text: string): Promise<Row[]> => (await sql.unsafe(text)) as Row[];

/** What the schema implies once delivery is over; each query returns the rows that break it. */
async function inconsistencies(sql: SQL): Promise<Record<string, Row[]>> {
  return {
    notDelivered: await q(sql, `SELECT id, state, attempts, last_failure_code FROM batches WHERE state <> 'delivered' LIMIT 5`),
    leaseHeld: await q(
      sql,
      `SELECT id, lease_node FROM batches WHERE lease_token IS NOT NULL OR lease_until IS NOT NULL OR lease_node IS NOT NULL LIMIT 5`,
    ),
    badRange: await q(
      sql,
      `SELECT b.id, b.first_seq, b.last_seq, b.event_count,
         (SELECT count(*) FROM events e WHERE e.seq BETWEEN b.first_seq AND b.last_seq) AS in_range
       FROM batches b
       WHERE b.first_seq > b.last_seq OR b.event_count <> (SELECT count(*) FROM events e WHERE e.seq BETWEEN b.first_seq AND b.last_seq)
         OR NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = b.first_seq) OR NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = b.last_seq)
       LIMIT 5`,
    ),
    // A webhook's batches, in cut order, follow each other without overlap and cover every event once.
    overlap: await q(
      sql,
      `SELECT id, first_seq, prev_last FROM (
         SELECT id, first_seq, lag(last_seq) OVER (PARTITION BY webhook_id ORDER BY ord) AS prev_last FROM batches
       ) x WHERE first_seq <= prev_last LIMIT 5`,
    ),
    coverage: await q(
      sql,
      `SELECT w.id, w.cursor_seq, (SELECT max(seq) FROM events) AS max_seq, (SELECT count(*) FROM events) AS events,
         (SELECT COALESCE(sum(event_count), 0) FROM batches b WHERE b.webhook_id = w.id) AS batched,
         (SELECT max(last_seq) FROM batches b WHERE b.webhook_id = w.id) AS max_last
       FROM webhooks w
       WHERE w.cursor_seq <> (SELECT max(seq) FROM events)
         OR (SELECT COALESCE(sum(event_count), 0) FROM batches b WHERE b.webhook_id = w.id) <> (SELECT count(*) FROM events)
         OR w.cursor_seq < (SELECT max(last_seq) FROM batches b WHERE b.webhook_id = w.id)`,
    ),
    bodyRefs: await q(
      sql,
      `SELECT d.id, d.refs, (SELECT count(*) FROM batches b WHERE b.body_id = d.id) AS used
       FROM batch_bodies d WHERE d.refs <= 0 OR d.refs <> (SELECT count(*) FROM batches b WHERE b.body_id = d.id) LIMIT 5`,
    ),
    noBody: await q(sql, `SELECT id FROM batches WHERE body_id IS NULL AND length(body) = 0 LIMIT 5`),
    // Each delivered batch: its attempts rows numbered once each, no more than the claims it counts, the last a 2xx.
    attempts: await q(
      sql,
      `SELECT b.id, b.attempts, count(a.id) AS rows, count(DISTINCT a.attempt) AS numbers,
         bool_or(a.response_code BETWEEN 200 AND 299) AS ok
       FROM batches b LEFT JOIN attempts a ON a.batch_id = b.id
       GROUP BY b.id, b.attempts
       HAVING count(a.id) = 0 OR count(a.id) <> count(DISTINCT a.attempt) OR count(a.id) > b.attempts
         OR NOT bool_or(a.response_code BETWEEN 200 AND 299)
       LIMIT 5`,
    ),
  };
}

test(`chaos: ${TOTAL} events (posted to every node, two nodes' logs), ${KILLS} SIGKILLs of random nodes: nothing lost, duplicates only resent batches, the tables consistent`, async () => {
  const started = Date.now();
  const { url, sql } = await pg.database({ migrated: true });
  const rx = await fleet.receiver();
  // Held 20–200 ms each, so kills land while batches are in flight.
  rx.respondWith(() => ({ status: 200, delayMs: 20 + Math.floor(Math.random() * 180) }));
  const f = await fleet.start(url, ["A", "B", "C"], { delivery: { batch_max_events: 2_000, batch_max_wait: "100ms" } });
  const { id: webhookId } = await createWebhook(f.node("A"), `${rx.url}/in`);
  const logNodes = [f.node("B"), f.node("C")];

  const stats = { reposted: 0 };
  const killLog: string[] = [];
  const posted = makeEvents(POSTED, "api");
  await Promise.all([postAll(f, posted, stats), writeLogs(logNodes, MESSAGES, 20_000), killAtRandom(f, KILLS, 25_000, killLog)]);
  const fed = Date.now();

  const got = await waitForReceived(f, rx, (r) => r.byId.size >= TOTAL, 150_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n--- kills:\n${killLog.join("\n")}\n--- sessions:\n${await sessions(sql)}`);
  });
  const delivered = Date.now();

  expect(got.violations).toEqual([]);
  expect(got.byId.size).toBe(TOTAL);
  const apiIds = new Set(posted.map((e) => e.event_id!));
  const fromApi = got.inOrder.filter((e) => apiIds.has(e.event_id));
  expect(fromApi.length).toBe(POSTED);
  const logKeys = got.inOrder.filter((e) => !apiIds.has(e.event_id)).map(logKey);
  expect(new Set(logKeys)).toEqual(new Set([...expectedLogKeys("B", MESSAGES), ...expectedLogKeys("C", MESSAGES)]));
  expect(sourceOrderProblems(got.inOrder, ["B", "C"])).toEqual([]);
  // Each kill can leave at most the one batch in flight (max_in_flight 1) to be sent again.
  expect(got.resent.length).toBeLessThanOrEqual(KILLS);

  // Nothing left to do anywhere: wait for the last attempts to be recorded, then read the tables.
  const deadline = Date.now() + 30_000;
  let problems = await inconsistencies(sql);
  while (Object.values(problems).some((rows) => rows.length) && Date.now() < deadline) {
    await Bun.sleep(250);
    problems = await inconsistencies(sql);
  }
  expect(problems).toEqual({
    notDelivered: [],
    leaseHeld: [],
    badRange: [],
    overlap: [],
    coverage: [],
    bodyRefs: [],
    noBody: [],
    attempts: [],
  });
  // The receiver got exactly the database's batches, under their ids.
  const batchIds = (await q(sql, `SELECT id FROM batches WHERE webhook_id = '${webhookId}' ORDER BY ord`)).map((r) => r.id as string);
  const received = [...new Set(rx.requests.map((r) => r.headers["webhook-id"]!))];
  expect(received).toEqual(batchIds);
  const [{ events }] = (await q(sql, `SELECT count(*)::int AS events FROM events`)) as [{ events: number }];
  expect(events).toBe(TOTAL);
  // Each log node's checkpoint at its log's end.
  for (const n of logNodes) {
    const rows = await q(sql, `SELECT "offset" FROM source_checkpoints WHERE node = '${n.name}'`);
    expect(rows.map((r) => Number(r.offset))).toEqual([Bun.file(n.logPath).size]);
  }
  for (const n of f.nodes) expect(n.running()).toBe(true);
  expect(killLog.length).toBe(KILLS);
  console.log(
    `chaos: ${TOTAL} events fed in ${fed - started} ms, all delivered ${delivered - fed} ms later (${Math.round(TOTAL / ((delivered - started) / 1000))} events/s overall); ` +
      `${rx.requests.length} requests, ${got.resent.length} batches resent, ${stats.reposted} POSTs repeated after a kill`,
  );
}, 240_000);
