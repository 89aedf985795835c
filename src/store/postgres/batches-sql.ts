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

/** Bytes inside a JSON parameter; the statement decodes them with decode(x, 'base64'). */
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

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
