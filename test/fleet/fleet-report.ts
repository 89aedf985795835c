// Waiting on a fleet's receiver, and what a failing fleet test says: each node's output and
// sources, the database's counts and sessions.
import type { SQL } from "bun";
import type { Receiver } from "../helpers/receiver.ts";
import type { Fleet } from "./harness.ts";
import { collect, type Received } from "./received.ts";

/** The nodes' stderr and last log lines, for a failing test's message. */
export function diagnostics(f: Fleet): string {
  return f.nodes
    .map((n) => {
      const p = n.proc;
      if (!p) return `--- ${n.name}: not running`;
      // Repeated API failures say little; what else each node logged is what explains a stall.
      const out = p.stdoutLines
        .filter((l) => !l.includes('"level":"debug"') && !l.includes('"msg":"unhandled error"'))
        .slice(-15)
        .join("\n");
      return `--- ${n.name} stderr:\n${p.stderr().slice(-2000)}\n--- ${n.name} stdout (last lines):\n${out}`;
    })
    .join("\n");
}

/** Waits until `done(received)` holds; fails with what arrived and the nodes' output. */
export async function waitForReceived(f: Fleet, rx: Receiver, done: (r: Received) => boolean, timeoutMs: number): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = collect(rx.requests);
    if (done(r)) return r;
    if (Date.now() > deadline)
      throw new Error(
        `not received within ${timeoutMs} ms: ${r.byId.size} distinct events in ${rx.requests.length} requests\n${diagnostics(f)}`,
      );
    await Bun.sleep(200);
  }
}

/** The database's sessions (who waits on what, who sits in a transaction), for a failing test's message. */
export async function sessions(sql: SQL): Promise<string> {
  const rows = await sql`SELECT pid, application_name AS app, state, wait_event_type AS wtype, wait_event AS wait,
      now() - xact_start AS xact_age, left(regexp_replace(query, '\\s+', ' ', 'g'), 300) AS query
    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST`;
  return (rows as Record<string, unknown>[]).map((r) => JSON.stringify(r)).join("\n");
}

/** Each node's view of its sources and the database's counts, for a failing test's message. */
export async function fleetReport(f: Fleet, sql: SQL): Promise<string> {
  const out: string[] = [];
  for (const n of f.nodes) {
    if (!n.running()) continue;
    const s = await n
      .api("GET", "/status")
      .then((r) => r.text())
      .catch((e: Error) => e.message);
    out.push(`--- ${n.name} /status: ${s.slice(0, 1500)}`);
  }
  const q = async (text: string) => JSON.stringify(await sql.unsafe(text).catch((e: Error) => e.message));
  out.push(
    `--- events by host: ${await q("SELECT host, count(*)::int AS n, max(seq)::int AS max_seq FROM events GROUP BY host ORDER BY host")}`,
  );
  out.push(
    `--- batches: ${await q("SELECT state, count(*)::int AS n, count(lease_token)::int AS leased, sum(event_count)::int AS events FROM batches GROUP BY state")}`,
  );
  out.push(`--- webhooks: ${await q("SELECT id, cursor_seq::int, consecutive_failures FROM webhooks")}`);
  out.push(`--- checkpoints: ${await q(`SELECT node, source, "offset"::int FROM source_checkpoints`)}`);
  out.push(`--- sessions:\n${await sessions(sql).catch((e: Error) => e.message)}`);
  return out.join("\n");
}
