// hookd's PostgreSQL advisory locks: one fixed 64-bit key per purpose, listed in one place so
// that no two purposes share a key. Each starts with the bytes of "hookd" (0x686f6f6b64),
// which keeps them clear of another application's locks on the same database.
export const ADVISORY_LOCK = {
  /** Session lock held while a node brings the schema up to date (migrate.ts). */
  migrate: 0x686f6f6b6401,
  /**
   * Transaction lock each event insert takes before its INSERT, so seqs commit in the order
   * they were taken and a cursor reader never skips one (bench/pg-spike/ordering.ts).
   */
  events: 0x686f6f6b6402,
} as const;
