import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import fs from "node:fs";
import path from "node:path";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, tempDir, testResources, type SpawnedHookd, type TestApp } from "../helpers/hookd.ts";
import { injectWriteFailure, sqlRows } from "../helpers/store-sql.ts";

// hookd-level: lines appended by a live writer become events in the store exactly once,
// through rename rotation, copytruncate and SIGKILL. Each line is one NOQUEUE reject with
// its own recipient, so the recipients in the store say which lines made it and how often.

const line = (n: number) =>
  `Nov 23 13:${String(Math.floor(n / 60) % 60).padStart(2, "0")}:${String(n % 60).padStart(2, "0")} mx1 postfix/smtpd[${1000 + (n % 7)}]: NOQUEUE: reject: RCPT from client.example[192.0.2.1]: 554 5.7.1 <u${n}@example.org>: Relay access denied; from=<a@example.com> to=<u${n}@example.org> proto=ESMTP helo=<client.example>\n`;

function countRecipients(rows: readonly { rcpt_to: string }[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of rows) {
    const n = Number(/^u(\d+)@/.exec(r.rcpt_to)![1]);
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return counts;
}

const REJECTIONS = "SELECT rcpt_to FROM events WHERE type = 'policy_rejection'";

/** The recipients stored in a SQLite file, for a spawned hookd's store. */
function recipientCounts(dbPath: string): Map<number, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return countRecipients(db.query(REJECTIONS).all() as { rcpt_to: string }[]);
  } finally {
    db.close();
  }
}

/** The same for a test app's store, whichever driver it runs on. */
const appRecipients = async (app: TestApp) => countRecipients(await sqlRows<{ rcpt_to: string }>(app.hookd.store, REJECTIONS));

const t = testResources();

/** A hookd tailing an empty mail.log in a fresh folder, from its beginning. */
async function tailingApp(rotateWait: number) {
  const dir = tempDir();
  const log = path.join(dir, "mail.log");
  fs.writeFileSync(log, "");
  const app = await t.app({ sources: [{ path: log, format: "postfix", start_at: "beginning", host: "mx1", rotate_wait: rotateWait }] });
  return { log, app };
}

describe("ingest through rotation", () => {
  test("rename rotation while a writer appends: every line once, none lost", async () => {
    const { log, app } = await tailingApp(100);
    const N = 3000;
    let fd = fs.openSync(log, "a");
    // ~40 lines per 10 ms, a rotation every 1000 lines (~250 ms, more than rotate_wait: a
    // real logrotate runs daily; two rotations inside rotate_wait are out of scope).
    for (let n = 0; n < N; n++) {
      fs.writeSync(fd, line(n));
      if (n % 1000 === 999) {
        // logrotate "create": older generations shift, the live file is renamed, and the
        // writer keeps appending to the renamed file for a moment before it reopens.
        if (fs.existsSync(`${log}.1`)) fs.renameSync(`${log}.1`, `${log}.2`);
        fs.renameSync(log, `${log}.1`);
        for (let late = 0; late < 5 && n + 1 < N; late++) fs.writeSync(fd, line(++n));
        fs.closeSync(fd);
        fd = fs.openSync(log, "a");
      }
      if (n % 40 === 0) await Bun.sleep(10);
    }
    fs.closeSync(fd);
    await eventually(async () => (await appRecipients(app)).size === N, { timeoutMs: 30_000 });
    const counts = await appRecipients(app);
    const doubled = [...counts].filter(([, k]) => k > 1);
    expect(doubled).toEqual([]);
    expect(counts.size).toBe(N);
  });

  test("copytruncate while a writer appends: nothing doubled, nothing lost that was read before the truncate", async () => {
    const { log, app } = await tailingApp(150);
    const N = 2000;
    // Where hookd's source stands, as /status reports it.
    const offset = async () => {
      const st = (await (await app.api("GET", "/status")).json()) as { results: { sources: { path: string; offset: number }[] } };
      return st.results.sources.find((s) => s.path === log)?.offset ?? -1;
    };
    for (let n = 0; n < N; n++) {
      fs.appendFileSync(log, line(n));
      if (n % 500 === 499) {
        // logrotate's copytruncate loses what the reader had not read when it truncates; a
        // reader that has caught up loses nothing, and must then not read the copy again.
        const size = fs.statSync(log).size;
        await eventually(async () => (await offset()) === size, { timeoutMs: 30_000 });
        fs.copyFileSync(log, `${log}.1`);
        fs.truncateSync(log, 0);
      }
    }
    await eventually(async () => (await appRecipients(app)).size === N, { timeoutMs: 30_000 });
    const counts = await appRecipients(app);
    expect([...counts].filter(([, k]) => k > 1)).toEqual([]);
    expect(counts.size).toBe(N);
  });
});

describe("ingest through SIGKILL", () => {
  test("kills mid-ingest lose and double nothing; the checkpoint ends at the file's end", async () => {
    const dir = tempDir();
    const log = path.join(dir, "mail.log");
    const store = path.join(dir, "hookd.db");
    fs.writeFileSync(
      path.join(dir, "hookd.toml"),
      `[[sources]]\npath = "${log}"\nformat = "postfix"\nstart_at = "beginning"\nhost = "mx1"\n`,
    );
    fs.writeFileSync(log, "");
    const env = { HOOKD_STORAGE_PATH: store };
    const N = 20_000;
    let written = 0;
    const writer = (async () => {
      const fd = fs.openSync(log, "a");
      while (written < N) {
        let chunk = "";
        for (let k = 0; k < 200 && written < N; k++) chunk += line(written++);
        fs.writeSync(fd, chunk);
        await Bun.sleep(5);
      }
      fs.closeSync(fd);
    })();
    let h: SpawnedHookd = await spawnHookd({ cwd: dir, env });
    for (let kill = 0; kill < 4; kill++) {
      await Bun.sleep(150 + Math.floor(Math.random() * 300));
      h.proc.kill(9);
      await h.exited;
      h = await spawnHookd({ cwd: dir, env });
    }
    await writer;
    await eventually(() => recipientCounts(store).size === N, { timeoutMs: 60_000 });
    h.proc.kill("SIGTERM");
    expect(await h.exited).toBe(0);

    const counts = recipientCounts(store);
    expect(counts.size).toBe(N);
    expect([...counts].filter(([, k]) => k > 1)).toEqual([]);
    const db = new Database(store, { readonly: true });
    const cp = db.query("SELECT offset FROM source_checkpoints WHERE source = ?").get(log) as { offset: number };
    expect(cp.offset).toBe(fs.statSync(log).size);
    expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    db.close();
  }, 120_000);
});

describe("ingest when the store refuses a commit", () => {
  test("the chunk is read again once the store accepts writes: nothing lost, nothing doubled, hookd keeps running", async () => {
    const { log, app } = await tailingApp(100);
    for (let n = 0; n < 50; n++) fs.appendFileSync(log, line(n));
    await eventually(async () => (await appRecipients(app)).size === 50, { timeoutMs: 10_000 });
    // Every insert into events fails while the flag table has a row (as with a full disk).
    const failing = await injectWriteFailure(app.hookd.store, "events", "INSERT");
    for (let n = 50; n < 100; n++) fs.appendFileSync(log, line(n));
    await Bun.sleep(800);
    expect((await appRecipients(app)).size).toBe(50);
    await failing.clear();
    for (let n = 100; n < 120; n++) fs.appendFileSync(log, line(n));
    await eventually(async () => (await appRecipients(app)).size === 120, { timeoutMs: 20_000 });
    expect([...(await appRecipients(app))].filter(([, k]) => k > 1)).toEqual([]);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  }, 60_000);
});
