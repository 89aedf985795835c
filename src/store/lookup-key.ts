// The feedback intake's index keys (the table: sqlite/migrations/0010-message-lookup.ts).
// Pure, and fixed: the CLI and the server, and every driver, must compute the same keys.

/** The index key of a Message-ID or queue id: xxHash64, signed (SQLite's and PostgreSQL's integers are). */
export function lookupKey(kind: "message_id" | "queue_id", value: string): bigint {
  return BigInt.asIntN(64, Bun.hash.xxHash64(`${kind === "message_id" ? "m" : "q"}\0${value}`));
}
