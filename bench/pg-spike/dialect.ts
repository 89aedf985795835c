// The SQL dialect: what in src/ is SQLite's own, how each maps to PostgreSQL, and the mapped
// schema, trigger and migration runner checked on a real server.
//   bun bench/pg-spike/dialect.ts
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { connect, table, withPg } from "./common.ts";
import { migratePg, PG_BASELINE, PG_MIGRATIONS } from "./schema-pg.ts";

const SRC = path.resolve(import.meta.dir, "../../src");
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(path.join(dir, d.name)) : d.name.endsWith(".ts") ? [path.join(dir, d.name)] : [],
  );

// What to look for, and what it becomes on PostgreSQL (both drivers can share the right column where it says "both").
const CONSTRUCTS: [string, RegExp, string][] = [
  ["INSERT OR IGNORE", /INSERT OR IGNORE/g, "INSERT … ON CONFLICT DO NOTHING (both)"],
  ["json_extract(", /json_extract\(/g, "(body::jsonb ->> 'machine'); better a machine column set at insert (both)"],
  ["octet_length(", /octet_length\(/g, "the same (SQLite ≥ 3.43, PostgreSQL: bytes in UTF-8)"],
  ["PRAGMA", /PRAGMA /g, "user_version → schema_migrations; synchronous=NORMAL → SET LOCAL synchronous_commit = off; the rest: none"],
  ["AUTOINCREMENT", /AUTOINCREMENT/g, "bigint GENERATED ALWAYS AS IDENTITY (a sequence never reuses a value)"],
  ["CREATE TRIGGER", /CREATE TRIGGER/g, "a PL/pgSQL function + AFTER DELETE … FOR EACH ROW trigger"],
  [".changes (rows affected)", /\.changes\b/g, "result.count in Bun's SQL, or RETURNING"],
  [
    "BEGIN IMMEDIATE (.immediate())",
    /\.immediate\(\)/g,
    "BEGIN (READ COMMITTED) + the row/advisory locks SQLite's one writer gave for free",
  ],
  ["db.transaction( (nested = SAVEPOINT)", /\.transaction\(/g, "sql.begin(async tx => …); nested → tx.savepoint()"],
  ["partial index (… WHERE)", /CREATE INDEX [^;]*\) WHERE/g, "the same"],
  ["BLOB", /\bBLOB\b/g, "bytea (Uint8Array both ways in Bun's SQL)"],
  ["WITHOUT ROWID", /WITHOUT ROWID/g, "drop (a heap table with a primary key)"],
  ["SUM(boolean)", /SUM\(state =/g, "count(*) FILTER (WHERE …) or SUM(CASE … THEN 1 ELSE 0 END) (both)"],
  ["INTEGER ms / counts", /\bINTEGER\b/g, "bigint: Bun's SQL returns int8 as a string → Number() per column, or ::float8 / ::int casts"],
  ["? placeholders", /\?, \?|\(\?\)|= \?/g, "$1, $2 … (Bun's SQL template or unsafe(text, params))"],
  [
    "SQLITE_FULL / BUSY",
    /SQLITE_(FULL|BUSY)/g,
    "SQLSTATE 53100 disk_full, 40P01 deadlock, 55P03 lock_not_available, 57P01 admin shutdown, connection errors",
  ],
];

const counts = CONSTRUCTS.map(([name, re, mapping]) => {
  const where = new Map<string, number>();
  for (const f of files(SRC)) {
    const n = readFileSync(f, "utf8").match(re)?.length ?? 0;
    if (n) where.set(path.relative(SRC, f), n);
  }
  const total = [...where.values()].reduce((a, b) => a + b, 0);
  const top = [...where]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([f, n]) => `${f} ${n}`)
    .join(", ");
  return [name, total, top + (where.size > 3 ? `, +${where.size - 3} files` : ""), mapping];
});
table("SQLite-specific SQL in src/ (occurrences) and its PostgreSQL form", ["construct", "n", "where (most)", "PostgreSQL"], counts);

await withPg(
  async (pg) => {
    const checks: string[][] = [];
    const check = (what: string, ok: boolean, detail = "") => checks.push([what, ok ? "ok" : "FAILED", detail]);

    // Three nodes start together on an empty database: the migrations run once.
    const nodes = Array.from({ length: 3 }, () => connect(pg.url));
    const t = performance.now();
    const applied = await Promise.all(nodes.map((n, i) => migratePg(n, `node${i}`)));
    const ms = performance.now() - t;
    const byWho = applied.map((a, i) => `node${i}: [${a.join(",")}]`).join(" ");
    check(
      "3 nodes migrate at once: each migration applied once",
      applied.flat().length === PG_MIGRATIONS.length,
      `${byWho} (${ms.toFixed(0)} ms)`,
    );
    const [{ n: versions }] = (await nodes[0]!`SELECT count(*)::int AS n FROM schema_migrations`) as [{ n: number }];
    check("schema_migrations rows", versions === PG_MIGRATIONS.length, String(versions));
    const again = await migratePg(nodes[1]!, "node1");
    check("a restart finds nothing to apply", again.length === 0);

    // Without the lock, two nodes applying the same DDL at once: one of them fails.
    const raceUrl = await pg.createDatabase("race");
    const [a, b] = [connect(raceUrl), connect(raceUrl)];
    const raced = await Promise.allSettled([a.begin((tx) => tx.unsafe(PG_BASELINE)), b.begin((tx) => tx.unsafe(PG_BASELINE))]);
    const failed = raced.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    check(
      "without the lock: the second node's migration fails",
      failed.length === 1,
      failed[0] ? String((failed[0].reason as Error).message).slice(0, 80) : "",
    );
    await Promise.all([a.close(), b.close()]);

    // The refcount trigger: a shared body goes with its last batch, by DELETE or by cascade.
    const sql = nodes[0]!;
    await sql`INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at) VALUES ('w1', 'a', 'http://x/', '["*"]', 's', 0, 0), ('w2', 'b', 'http://x/', '["*"]', 's', 0, 0)`;
    const [{ id: bodyId }] =
      (await sql`INSERT INTO batch_bodies (body, refs) VALUES (${new Uint8Array([123, 125])}, 2) RETURNING id::float8 AS id`) as [
        { id: number },
      ];
    await sql`INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at, body_id)
              VALUES ('b1', 'w1', 1, 2, 1, 1, '\\x', 0, 0, ${bodyId}), ('b2', 'w2', 1, 2, 1, 1, '\\x', 0, 0, ${bodyId})`;
    await sql`DELETE FROM batches WHERE id = 'b1'`;
    const [{ refs }] = (await sql`SELECT refs FROM batch_bodies WHERE id = ${bodyId}`) as [{ refs: number }];
    check("trigger: a batch deleted → refs − 1", refs === 1, `refs ${refs}`);
    await sql`DELETE FROM webhooks WHERE id = 'w2'`;
    const gone = (await sql`SELECT 1 FROM batch_bodies WHERE id = ${bodyId}`).length === 0;
    check("trigger: the last batch goes by cascade (webhook deleted) → body deleted", gone);

    // Types as Bun's SQL returns them.
    const [r] =
      (await sql`SELECT ${Date.now()}::bigint AS ms, count(*) AS n, octet_length('héllo') AS o, '{"machine":true}'::jsonb ->> 'machine' AS m`) as [
        Record<string, unknown>,
      ];
    check(
      "int8 comes back as a string (map with Number())",
      typeof r.ms === "string" && typeof r.n === "string",
      `ms: ${typeof r.ms}, count(*): ${typeof r.n}`,
    );
    check("octet_length counts UTF-8 bytes, as SQLite's does", Number(r.o) === 6, String(r.o));
    check("json_extract(body, '$.machine') → body::jsonb ->> 'machine'", r.m === "true", String(r.m));
    const [nul] = (await sql`SELECT (${sql.array(["a", null], "TEXT")}::text[])[2] AS v`) as [{ v: string | null }];
    check(
      "Bun's sql.array keeps a null element NULL",
      nul.v === null,
      `got ${JSON.stringify(nul.v)}: bulk inserts go through json_to_recordset instead`,
    );
    const upd = await sql`UPDATE webhooks SET name = name WHERE id = 'w1'`;
    check(".changes → result.count", upd.count === 1, String(upd.count));
    const savepoint = await sql.begin(async (tx) => {
      await tx`UPDATE webhooks SET name = 'outer' WHERE id = 'w1'`;
      await tx.savepoint(async (sp) => sp`UPDATE webhooks SET name = 'inner' WHERE id = 'w1'`).catch(() => {});
      return (await tx`SELECT name FROM webhooks WHERE id = 'w1'`)[0] as { name: string };
    });
    check("nested transaction → tx.savepoint()", savepoint.name === "inner", savepoint.name);
    table("Checked on PostgreSQL 15 (the schema, the trigger, the migration runner, the types)", ["check", "", "detail"], checks);
    await Promise.all(nodes.map((n) => n.close()));
  },
  { durable: false },
);
