import { expect, onTestFinished, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SQL } from "bun";
import { pgSchemaVersion } from "../../src/store/postgres/migrate.ts";
import { PG_LATEST_VERSION } from "../../src/store/postgres/schema.ts";
import { eventually } from "./eventually.ts";
import { BUN } from "./hookd.ts";
import { usePostgres } from "./pg.ts";
import { alive, postmasterPid } from "./pg-watchdog.ts";

const pg = usePostgres();
const HERE = import.meta.dir;

async function publicTables(sql: SQL): Promise<number> {
  const [row] = await sql`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`;
  return (row as { n: number }).n;
}

async function sessionsOn(database: string): Promise<number> {
  const admin = pg.connect(pg.server().urlFor("postgres"), { max: 1 });
  const [row] = await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${database}`;
  return (row as { n: number }).n;
}

test("each database() is a fresh empty database of its own", async () => {
  const a = await pg.database();
  const b = await pg.database();
  expect(a.name).not.toBe(b.name);
  await a.sql`CREATE TABLE mine (x int)`;
  expect(await publicTables(a.sql)).toBe(1);
  expect(await publicTables(b.sql)).toBe(0);
});

test("database({ migrated: true }) is at the latest schema, a copy no other test shares", async () => {
  const a = await pg.database({ migrated: true });
  const b = await pg.database({ migrated: true });
  expect(await pgSchemaVersion(a.sql)).toBe(PG_LATEST_VERSION);
  await a.sql`INSERT INTO custom_event_types (name, first_seen_at) VALUES ('x', 0)`;
  const [row] = await b.sql`SELECT count(*)::int AS n FROM custom_event_types`;
  expect(row).toEqual({ n: 0 });
});

// Serial: onTestFinished is not available to a concurrent test (whose clients close with the file).
test.serial("clients made in a test are closed when it finishes", async () => {
  const { name, url, sql } = await pg.database();
  await sql`SELECT 1`;
  await pg.connect(url, { max: 1 })`SELECT 1`;
  expect(await sessionsOn(name)).toBe(2);
  // Registered after the fixture's own, so it runs after them.
  onTestFinished(async () => {
    await eventually(async () => (await sessionsOn(name)) === 0, { timeoutMs: 4_000 });
  });
});

// Serial: halting the server would break any test running beside it (bun test --concurrent).
test.serial("halt() stops the server with its data, resume() starts it on the same socket", async () => {
  const { url, sql } = await pg.database();
  await sql`CREATE TABLE kept (x int)`;
  await sql`INSERT INTO kept VALUES (42)`;
  await pg.server().halt();
  const down = await sql`SELECT 1`.catch((e: unknown) => e);
  expect(down).toBeInstanceOf(Error);
  await pg.server().resume();
  const [row] = await pg.connect(url, { max: 1 })`SELECT x FROM kept`;
  expect(row).toEqual({ x: 42 });
});

test("a machine that cannot run PostgreSQL fails the test, naming the package to install", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hookd-pgmissing-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "needs-pg.test.ts");
  writeFileSync(
    file,
    `import { test } from "bun:test";
     import { usePostgres } from ${JSON.stringify(path.join(HERE, "pg.ts"))};
     const pg = usePostgres();
     test("needs postgres", async () => { await pg.database(); });`,
  );
  const proc = Bun.spawn([BUN, "test", file], {
    env: { ...process.env, HOOKD_PG_BIN: path.join(dir, "no-such-bin") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const output = out + err;
  expect(code).not.toBe(0);
  expect(output).toContain("(fail) needs postgres");
  expect(output).toContain("0 pass");
  expect(output).toContain("Install Debian's package `postgresql` (as root: bash scripts/install-test-deps.sh)");
});

test("a server whose owner is killed (SIGKILL) is stopped and its folder removed by the watchdog", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hookd-pgowner-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, "owner.ts");
  writeFileSync(
    script,
    `import { startPgServer } from ${JSON.stringify(path.join(HERE, "pg-server.ts"))};
     const pg = await startPgServer();
     console.log(JSON.stringify({ dir: pg.dir }));
     setInterval(() => {}, 1 << 30);`,
  );
  const owner = Bun.spawn([BUN, script], { stdout: "pipe", stderr: "inherit" });
  const reader = owner.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the owner exited before starting its server: ${line}`);
    line += new TextDecoder().decode(value);
  }
  const serverDir = (JSON.parse(line) as { dir: string }).dir;
  const postmaster = postmasterPid(serverDir);
  expect(postmaster).not.toBeNull();
  owner.kill("SIGKILL");
  await owner.exited;
  await eventually(() => !existsSync(serverDir) && !alive(postmaster!), { timeoutMs: 20_000 });
}, 30_000);
