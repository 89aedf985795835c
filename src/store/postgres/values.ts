// Values crossing Bun's SQL where PostgreSQL and the store's types disagree.
// - int8 (bigint columns, count(*), sum()) comes back as a decimal string, whatever its size:
//   the driver turns it into a number, checked to be exact, or for a full 64-bit value
//   (message_lookup.h) a BigInt.
// - text cannot hold U+0000 (SQLite's can). Event bodies never contain one (JSON escapes it as
//   \u0000), but the columns beside them hold raw strings from log lines (decoded as UTF-8, NUL
//   included) and from the API (zod lets "\u0000" through): the driver binds those through
//   noNul(), or one damaged log line would fail its whole chunk, again on every retry.

/** An int8 as a number; throws, naming `what`, on anything that is not an exact safe integer. */
export function int8(value: unknown, what: string): number {
  const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw new TypeError(`${what}: expected an integer within ±2^53 from PostgreSQL, got ${JSON.stringify(String(value))}`);
  }
  return n;
}

/** The same, NULL kept. */
export function int8OrNull(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : int8(value, what);
}

/** An int8 as a BigInt, for values that use all 64 bits. */
export function int8Big(value: unknown, what: string): bigint {
  if (typeof value === "bigint") return value;
  if ((typeof value === "string" && /^-?\d+$/.test(value)) || (typeof value === "number" && Number.isSafeInteger(value))) {
    return BigInt(value);
  }
  throw new TypeError(`${what}: expected a 64-bit integer from PostgreSQL, got ${JSON.stringify(String(value))}`);
}

/** `s` storable in a PostgreSQL text column: each U+0000 becomes U+FFFD (as undecodable bytes already do). */
export function noNul<T extends string | null | undefined>(s: T): T {
  return (typeof s === "string" && s.includes("\0") ? s.replaceAll("\0", "\uFFFD") : s) as T;
}
