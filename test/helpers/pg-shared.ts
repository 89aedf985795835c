// PostgreSQL for suites that run on either driver (HOOKD_TEST_DRIVER=postgres): one server per
// test process, started on first use and stopped at exit (pg-server.ts), and a fresh migrated
// database for each app a test starts. Files that test PostgreSQL itself use pg.ts instead.
import { migratedDatabase } from "./pg.ts";
import { type PgServer, startPgServer } from "./pg-server.ts";

export type TestDriver = "sqlite" | "postgres";

/** The driver the app-level suites run on: HOOKD_TEST_DRIVER, default SQLite. */
export function testDriver(): TestDriver {
  const d = process.env.HOOKD_TEST_DRIVER ?? "sqlite";
  if (d !== "sqlite" && d !== "postgres") throw new Error(`HOOKD_TEST_DRIVER: expected sqlite or postgres, got ${JSON.stringify(d)}`);
  return d;
}

let server: Promise<PgServer> | null = null;

/** A new, migrated database on this process's test server. */
export async function sharedPgDatabase(): Promise<string> {
  server ??= startPgServer();
  return migratedDatabase(await server);
}
