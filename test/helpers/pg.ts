// PostgreSQL for a test file: one throwaway server per file (pg-server.ts: a cluster in a temp
// folder on a unix socket, no port), a fresh database per test, everything closed and removed
// when the file is done.
//
//   const pg = usePostgres();                        // at the top of the test file
//   test("…", async () => {
//     const { sql, url } = await pg.database();      // empty; { migrated: true }: at the latest schema
//     const other = pg.connect(url);                 // a second node's client
//   });
//
// Clients made here are closed when the test that made them finishes (onTestFinished); made
// outside a test, or in a concurrent one (where Bun has no onTestFinished), when the file
// ends. A machine without PostgreSQL does not skip these tests: each one fails, naming the
// package to install.
import { SQL } from "bun";
import { afterAll, beforeAll, onTestFinished } from "bun:test";
import { migratePg } from "../../src/store/postgres/migrate.ts";
import { within } from "./deadline.ts";
import { type PgServer, type PgServerOptions, startPgServer } from "./pg-server.ts";

export type PgTestDatabase = { name: string; url: string; sql: SQL };

export type PgDatabaseOptions = {
  /** At the latest schema (copied from a template migrated once per server), instead of empty. */
  migrated?: boolean;
  /** The pool size of the client returned (default 1: Bun opens a pool's connections all at once). */
  max?: number;
};

export type PgFixture = {
  /** A fresh database of this test's own, and a client on it. */
  database(opts?: PgDatabaseOptions): Promise<PgTestDatabase>;
  /** Another client on `url` (another node's, a second session). */
  connect(url: string, opts?: { max?: number }): SQL;
  /** The server: halt()/resume() for "database down" tests, logTail() for a failure's message. */
  server(): PgServer;
};

const TEMPLATE = "hookd_migrated";

/**
 * Bun 1.3.14's close() can wait forever on a pool whose connections were still being opened
 * when the server went down (a halt() test): a client not closed in 2 s is left to the server's stop.
 */
const closeClient = (client: SQL): Promise<void> =>
  within(
    client.close({ timeout: 0 }).catch(() => {}),
    2_000,
    undefined,
  );

/** Why a test that needs PostgreSQL fails on a machine that cannot run one. */
export class PgUnavailableError extends Error {
  override name = "PgUnavailableError";
  constructor(cause: unknown) {
    super(
      `this test needs PostgreSQL, and a test server could not start: ${(cause as Error)?.message ?? String(cause)}\n` +
        "Install Debian's package `postgresql` (as root: bash scripts/install-test-deps.sh), or set HOOKD_PG_BIN to a PostgreSQL bin folder.",
      { cause },
    );
  }
}

/** Registers the file's server (started before its first test, stopped after its last). */
export function usePostgres(opts: PgServerOptions = {}): PgFixture {
  let running: PgServer | null = null;
  let failure: PgUnavailableError | null = null;
  const fileClients = new Set<SQL>();

  beforeAll(
    async () => {
      try {
        running = await startPgServer(opts);
      } catch (err) {
        // Kept for each test to fail with, rather than thrown here, where it would stop the
        // file with one error that names no test.
        failure = new PgUnavailableError(err);
      }
    },
    { timeout: 60_000 },
  );
  afterAll(
    async () => {
      await Promise.all([...fileClients].map(closeClient));
      await running?.stop();
    },
    { timeout: 30_000 },
  );

  const server = (): PgServer => {
    if (failure) throw failure;
    if (!running) throw new Error("usePostgres(): the server is started by beforeAll; call this inside a test or a hook");
    return running;
  };

  const connect = (url: string, o: { max?: number } = {}): SQL => {
    const client = new SQL(url, { max: o.max ?? 1, idleTimeout: 0 });
    const close = () => closeClient(client);
    try {
      onTestFinished(close);
    } catch {
      // Not inside a test (a hook, the file's top level), or in a concurrent one: closed when the file ends.
      fileClients.add(client);
    }
    return client;
  };

  return {
    server,
    connect,
    async database(o = {}) {
      const pg = server();
      if (o.migrated) await migratedTemplate(pg);
      const url = await pg.createDatabase(undefined, o.migrated ? TEMPLATE : undefined);
      const name = new URL(url).pathname.slice(1);
      return { name, url, sql: connect(url, { max: o.max ?? 1 }) };
    },
  };
}

const templates = new WeakMap<PgServer, Promise<void>>();

/**
 * The schema migrated once per server, as the database TEMPLATE; each migrated database is a
 * copy of it (CREATE DATABASE … TEMPLATE, ~as quick as an empty one), not a run of every migration.
 */
export function migratedTemplate(pg: PgServer): Promise<void> {
  let made = templates.get(pg);
  if (!made) {
    made = (async () => {
      const url = await pg.createDatabase(TEMPLATE);
      const client = new SQL(url, { max: 1 });
      try {
        await migratePg(client, { node: "template" });
      } finally {
        // A template must have no sessions when it is copied.
        await client.close({ timeout: 0 });
      }
      // And none may come later: a session in the template (an autovacuum worker's included)
      // makes CREATE DATABASE wait for it to leave, or fail. Closed to connections, as template0 is.
      const admin = new SQL(pg.urlFor("postgres"), { max: 1 });
      try {
        await admin.unsafe(`ALTER DATABASE ${TEMPLATE} ALLOW_CONNECTIONS false`);
      } finally {
        await admin.close({ timeout: 0 });
      }
    })();
    templates.set(pg, made);
  }
  return made;
}

/** A fresh migrated database on `pg`: its URL. */
export async function migratedDatabase(pg: PgServer): Promise<string> {
  await migratedTemplate(pg);
  return pg.createDatabase(undefined, TEMPLATE);
}
