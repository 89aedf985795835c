import { SQL } from "bun";
import { redactedUrl } from "../../config/storage.ts";
import { closePool } from "./close-pool.ts";
import { pgSchemaVersion } from "./migrate.ts";
import { PG_LATEST_VERSION } from "./schema.ts";

// `hookd check-config` with driver = "postgres": can this node reach the database, and what
// schema does it hold? Read-only (the schema is brought up to date by `serve`, not here), and
// bounded in time: a firewall that drops packets must not hang the check.

export type PgProbe = { ok: true; schemaVersion: number; latestVersion: number; server: string } | { ok: false; reason: string };

export async function probePostgres(url: string, timeoutMs = 5_000): Promise<PgProbe> {
  const sql = new SQL({ url, max: 1, connectionTimeout: Math.max(1, Math.ceil(timeoutMs / 1000)) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const check = async (): Promise<PgProbe> => {
      const [row] = await sql`SELECT current_setting('server_version') AS v`;
      const schemaVersion = await pgSchemaVersion(sql);
      return { ok: true, schemaVersion, latestVersion: PG_LATEST_VERSION, server: (row as { v: string }).v };
    };
    return await Promise.race([check(), timeout]);
  } catch (err) {
    return { ok: false, reason: describe(err, url) };
  } finally {
    clearTimeout(timer);
    await closePool(sql, 1_000);
  }
}

/** Why, in words an operator can act on; never the password (Bun's messages do not carry it, the URL is redacted). */
function describe(err: unknown, url: string): string {
  const e = err as { code?: string; errno?: string; message?: string };
  const where = redactedUrl(url);
  if (e?.code === "ERR_POSTGRES_CONNECTION_CLOSED" || e?.code === "ERR_POSTGRES_CONNECTION_TIMEOUT")
    return `cannot connect to ${where} (is PostgreSQL running there, and does it accept this host?)`;
  if (e?.errno === "28P01" || e?.errno === "28000") return `${where} refused the login: ${e.message}`;
  if (e?.errno === "3D000") return `${where}: ${e.message} (create it first: createdb)`;
  return `${where}: ${e?.message ?? String(err)}`;
}
