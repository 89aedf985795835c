import type { CutRow, ScanRow } from "../contract/delivery.ts";
import type { PgContext } from "./context.ts";
import { int8 } from "./values.ts";

// The batcher's two reads of the events: membership columns and sizes first (no bodies), then
// the bodies of what it cuts. Rows are mutated in place (seq and received_at are int8: strings
// from Bun): a scan reads thousands of them per page.

const SCAN_COLUMNS = "seq, type, host, mail_from, rcpt_to, custom_type, notice, received_at, octet_length(body) AS bytes";
// `filter: {machine: false}` needs the flag of engagement rows, as SQLite's json_extract gives
// it (true/false or a number as written; absent: null). Only such a webhook's scan parses
// bodies, and only those rows'.
const MACHINE_COLUMN = ", CASE WHEN type IN ('open', 'click', 'list_unsubscribe') THEN body::json -> 'machine' END AS machine";

const SCAN = `SELECT ${SCAN_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`;
const SCAN_MACHINE = `SELECT ${SCAN_COLUMNS}${MACHINE_COLUMN} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`;
const CUT_ROWS = `SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, body FROM events
  WHERE seq > $1 AND seq <= $2 ORDER BY seq`;

export async function scan(ctx: PgContext, afterSeq: number, limit: number, machine: boolean): Promise<ScanRow[]> {
  const rows = (await ctx.sql.unsafe(machine ? SCAN_MACHINE : SCAN, [afterSeq, limit])) as ScanRow[];
  for (const r of rows) {
    r.seq = int8(r.seq, "events.seq");
    r.received_at = int8(r.received_at, "events.received_at");
  }
  return rows;
}

export async function cutRows(ctx: PgContext, afterSeq: number, upToSeq: number): Promise<CutRow[]> {
  const rows = (await ctx.sql.unsafe(CUT_ROWS, [afterSeq, upToSeq])) as CutRow[];
  for (const r of rows) r.seq = int8(r.seq, "events.seq");
  return rows;
}
