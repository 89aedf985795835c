import type { Database } from "bun:sqlite";
import { MigrationError } from "../errors.ts";
import * as m0001 from "./migrations/0001-init.ts";
import * as m0002 from "./migrations/0002-failure-streak.ts";
import * as m0003 from "./migrations/0003-shared-bodies.ts";
import * as m0004 from "./migrations/0004-lean-event-indexes.ts";
import * as m0005 from "./migrations/0005-sendgrid-signed.ts";
import * as m0006 from "./migrations/0006-provider-formats.ts";
import * as m0007 from "./migrations/0007-domains.ts";
import * as m0008 from "./migrations/0008-tracking.ts";
import * as m0009 from "./migrations/0009-body-digest.ts";
import * as m0010 from "./migrations/0010-message-lookup.ts";
import * as m0011 from "./migrations/0011-notice-column.ts";
import * as m0012 from "./migrations/0012-fleet.ts";

// Migrations are compiled into the binary (no folder to ship next to `hookd`), applied in
// order at start, each in its own transaction together with the user_version bump, so a
// crash mid-migration leaves the previous schema intact.
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: "init", sql: m0001.sql },
  { version: 2, name: "failure-streak", sql: m0002.sql },
  { version: 3, name: "shared-bodies", sql: m0003.sql },
  { version: 4, name: "lean-event-indexes", sql: m0004.sql },
  { version: 5, name: "sendgrid-signed", sql: m0005.sql },
  { version: 6, name: "provider-formats", sql: m0006.sql },
  { version: 7, name: "domains", sql: m0007.sql },
  { version: 8, name: "tracking", sql: m0008.sql },
  { version: 9, name: "body-digest", sql: m0009.sql },
  { version: 10, name: "message-lookup", sql: m0010.sql },
  { version: 11, name: "notice-column", sql: m0011.sql },
  { version: 12, name: "fleet", sql: m0012.sql },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export { MigrationError };

export function schemaVersion(db: Database): number {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

/** Brings the schema to `target` (default: latest). Returns the versions applied. */
export function migrate(db: Database, target = LATEST_VERSION): number[] {
  const current = schemaVersion(db);
  if (current > LATEST_VERSION) {
    throw new MigrationError(`store schema version ${current} is newer than this hookd understands (${LATEST_VERSION}); run a newer hookd`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      db.run(m.sql);
      db.run(`PRAGMA user_version = ${m.version}`);
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
