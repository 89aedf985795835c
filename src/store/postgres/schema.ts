// The store's tables in PostgreSQL: the versions that build them, numbered as SQLite's are, so
// that "schema version N" names one logical schema on both drivers. PostgreSQL starts at 11
// (SQLite's schema after its migrations 1–11, written once in PostgreSQL's dialect); every
// later version has a file under migrations/ here and one under ../migrations/.
//
// How SQLite's types are carried over (test/store/postgres/schema.test.ts holds every column
// to these rules):
// - Times (ms since the epoch), durations, seqs, sizes in bytes, offsets and ids: bigint (ms
//   times outgrow int4 today, seqs can in hours). Bun's SQL returns every int8 as a *string*
//   (count(*) and sum() too): the driver reads them through ./values.ts (Number, checked safe);
//   message_lookup.h, a full 64-bit hash, as a BigInt. Writing a JS number or bigint works.
// - Counts, attempt numbers, HTTP codes, the keyring's version and single-row ids: integer,
//   which Bun returns as a number.
// - source_checkpoints.dev/ino: double precision (see the baseline).
// - INTEGER PRIMARY KEY [AUTOINCREMENT]: bigint GENERATED ALWAYS AS IDENTITY — only the
//   sequence assigns ids, and it never hands one out twice.
// - drizzle's boolean columns (webhooks.active, ecdsa_signed): boolean, read as true/false.
// - drizzle's JSON columns (scopes, events, auth_*, custom_headers, verification_state,
//   filter, sendgrid_settings): json, not jsonb — json keeps the text as written (key order
//   included: custom headers are sent in the order given, and the API reads back what was
//   stored), and Bun parses it on the way out, so a row reads as drizzle's type. Bind the
//   *value*, never JSON.stringify(value): Bun encodes a bound string as a JSON string, and a
//   CHECK on each column (array or object) rejects that double encoding instead of storing it.
// - JSON that the store itself serialises (events.body, correlation, the keyring's ring,
//   tracked messages' data): text, bytes exactly as given. PostgreSQL text cannot hold NUL;
//   JSON text escapes every control character (\u0000), so a body never contains one — but
//   the raw strings beside it can (./values.ts noNul()).
// - BLOB: bytea (Buffer out, Uint8Array/Buffer in). WITHOUT ROWID: a plain table.
// - The batch_bodies refcount trigger: a PL/pgSQL function, same statements.
import { sql as v11 } from "./migrations/0011-baseline.ts";
import { sql as v12 } from "./migrations/0012-fleet.ts";

export type PgMigration = { version: number; name: string; sql: string };

export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 11, name: "baseline", sql: v11 },
  { version: 12, name: "fleet", sql: v12 },
];

export const PG_LATEST_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

/** The store's tables on PostgreSQL at the latest version (schema_migrations aside). */
export const PG_TABLES = [
  "api_keys",
  "attempts",
  "batch_bodies",
  "batches",
  "custom_event_types",
  "domains",
  "events",
  "message_lookup",
  "message_lookup_state",
  "nodes",
  "source_checkpoints",
  "tracked_messages",
  "tracking_firsts",
  "tracking_keyring",
  "tracking_minutes",
  "webhooks",
] as const;
