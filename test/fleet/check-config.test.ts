// `hookd check-config` on a fleet's config: the database is part of what it checks, and the
// URL's password never appears in what it prints.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { runHookd, tempDir } from "../helpers/hookd.ts";
import { usePostgres } from "../helpers/pg.ts";

const pg = usePostgres();
const PASSWORD = "s3cret-never-shown";

/** `url` with a password in it (the test server trusts local connections, so it is not checked). */
const withPassword = (url: string) => url.replace("postgres://hookd@", `postgres://hookd:${PASSWORD}@`);

function configFile(storage: string): string {
  const dir = tempDir();
  const file = path.join(dir, "hookd.toml");
  fs.writeFileSync(file, `[storage]\n${storage}\n`);
  return file;
}

describe("check-config with storage.driver = postgres", () => {
  test("a database it reaches: exit 0, the summary names PostgreSQL, the node and the schema version, never the password", async () => {
    const { url } = await pg.database({ migrated: true });
    const file = configFile(`driver = "postgres"\nurl = "${withPassword(url)}"\nnode = "mx-a"`);
    const r = await runHookd(["check-config", "--config", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("PostgreSQL");
    expect(r.stdout).toContain("as node mx-a");
    expect(r.stdout).toMatch(/database: PostgreSQL \d+[^\n]*, schema version 12\n/);
    expect(r.stdout).toContain("********");
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  }, 30_000);

  test("an empty database: reachable, and serve would migrate it", async () => {
    const { url } = await pg.database();
    const r = await runHookd(["check-config", "--config", configFile(`driver = "postgres"\nurl = "${url}"`)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("schema version none yet (hookd serve brings it to 12)");
  }, 30_000);

  test("a database it cannot reach: exit 2, naming storage.url and the redacted URL, within the probe's bound", async () => {
    const missing = path.join(tempDir(), "no-server-here", ".s.PGSQL.5432");
    const url = `postgres://hookd:${PASSWORD}@localhost/hookd?path=${encodeURIComponent(missing)}`;
    const started = Date.now();
    const r = await runHookd(["check-config", "--config", configFile(`driver = "postgres"\nurl = "${url}"`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("storage.url: cannot connect to postgres://hookd:********@localhost/hookd");
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  test("driver postgres without a url, or a url that is not postgres://: exit 2, each named, the password not echoed", async () => {
    const none = await runHookd(["check-config", "--config", configFile(`driver = "postgres"`)]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("storage.url");
    expect(none.stderr).toContain('required when storage.driver is "postgres"');
    const wrong = await runHookd(["check-config", "--config", configFile(`driver = "postgres"\nurl = "mysql://u:${PASSWORD}@db/x"`)]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("storage.url");
    expect(wrong.stderr).toContain("a postgres:// or postgresql:// URL");
    expect(wrong.stderr).not.toContain(PASSWORD);
    const badNode = await runHookd(["check-config", "--config", configFile(`node = "mx a/1"`)]);
    expect(badNode.code).toBe(2);
    expect(badNode.stderr).toContain("storage.node");
  }, 30_000);
});
