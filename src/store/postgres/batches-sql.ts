import type { SQL } from "bun";
import type { PgContext } from "./context.ts";

// What the delivery area's statements share: rows sent as one JSON parameter, bodies inside it,
// and the commit of a write that promises no flush.

/**
 * Rows as one `json_to_recordset($n::text::json)` parameter: any number of rows in one
 * statement, NULLs kept (Bun 1.3.14 sends a null element of sql.array() as the string "null").
 * `::text::json`: a string bound to a json parameter would arrive as one JSON string.
 */
export const rowsParam = (rows: readonly object[]): string => JSON.stringify(rows);

/**
 * Bodies as one bytea parameter, end to end, and where each starts: the statement cuts each
 * out with substring($n FROM off + 1 FOR len). Bytes go as they are, where base64 inside the
 * JSON parameter cost ~7x more (server-side JSON parsing and decoding: ~20 ms a MB here).
 */
export function packBodies(bodies: readonly Uint8Array[]): { blob: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  let at = 0;
  for (const b of bodies) {
    offsets.push(at);
    at += b.byteLength;
  }
  return { blob: Buffer.concat(bodies, at), offsets };
}

/** The identity sequence of batch_bodies.id: a statement takes ids from it up front to insert bodies and the batches naming them together. */
export const BODY_ID = "nextval(pg_get_serial_sequence('batch_bodies', 'id'))";

/**
 * One write that promises no flush: on a driver opened "normal" its commit does not wait for
 * the WAL flush (SQLite's synchronous=NORMAL); on a "full" one it is a plain statement.
 */
export async function lightWrite<T>(ctx: PgContext, run: (sql: SQL) => Promise<T>): Promise<T> {
  if (ctx.durability === "full") return run(ctx.sql);
  return ctx.sql.begin(async (tx) => {
    await tx`SET LOCAL synchronous_commit = off`;
    return run(tx);
  });
}
