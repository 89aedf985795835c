// Not a test: measures what repeated replays add to the store, from outside — hookd as a
// process (`bun src/main.ts serve`), N events posted, a webhook whose receiver is down (every
// batch waits), REPLAYS replays of all of them, then the store's size (database + WAL, after a
// checkpoint) and its batch_bodies rows. delivery.replay_max_pending is raised so that the cap
// does not hide the growth.
//   bun bench/measure-replay-growth.ts            (N=40000 REPLAYS=10)
import { Database } from "bun:sqlite";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = process.env;
const N = Number(env.N ?? 40_000);
const REPLAYS = Number(env.REPLAYS ?? 10);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookd-replays-"));
const db = path.join(dir, "hookd.db");
const proc = Bun.spawn([process.execPath, path.join(import.meta.dir, "../src/main.ts"), "serve"], {
  cwd: dir,
  env: {
    PATH: env.PATH ?? "",
    HOOKD_STORAGE_PATH: db,
    HOOKD_SERVER_LISTEN: "127.0.0.1:0",
    HOOKD_SERVER_RATE_LIMIT: "0",
    HOOKD_DELIVERY_REPLAY_MAX_PENDING: String(N * REPLAYS * 2),
  },
  stdout: "pipe",
  stderr: "pipe",
});
let out = "";
for (const stream of [proc.stdout, proc.stderr]) {
  void (async () => {
    for await (const c of stream) out += new TextDecoder().decode(c);
  })();
}
const until = async (re: RegExp) => {
  for (let i = 0; i < 300 && !re.test(out); i++) await Bun.sleep(50);
  const m = re.exec(out);
  if (!m) throw new Error(`no ${re} in hookd's output:\n${out}`);
  return m[1]!;
};

/** The store's bytes on disk once the WAL is folded in, and its body rows. */
function storeSize(): { mb: number; bodies: number; batches: number } {
  const s = new Database(db);
  try {
    s.run("PRAGMA busy_timeout = 5000");
    s.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const bodies = (s.query("SELECT count(*) AS n FROM batch_bodies").get() as { n: number }).n;
    const batches = (s.query("SELECT count(*) AS n FROM batches").get() as { n: number }).n;
    const bytes = [db, `${db}-wal`].reduce((n, p) => n + (fs.existsSync(p) ? fs.statSync(p).size : 0), 0);
    return { mb: Math.round(bytes / 1e5) / 10, bodies, batches };
  } finally {
    s.close();
  }
}

try {
  const url = await until(/"listen":"([^"]+)"/);
  const key = await until(/(hookd_[A-Za-z0-9_-]{30,})/);
  const api = async (method: string, p: string, body: unknown) => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${await res.text()}`);
    return res.json() as Promise<{ results: Record<string, unknown> }>;
  };
  for (let i = 0; i < N; i += 5000) {
    const events = Array.from({ length: Math.min(5000, N - i) }, (_, j) => ({
      type: "delivery",
      event_id: `ev-${i + j}`,
      rcpt_to: `user${i + j}@example.org`,
      mail_from: "news@example.com",
      metadata: { campaign: "spring", note: "n".repeat(200) },
    }));
    await api("POST", "/events", events);
  }
  // Nothing listens on port 9: every batch waits for a retry, as behind a receiver that is down.
  const wh = (await api("POST", "/webhooks", { name: "down", target: "http://127.0.0.1:9/down", events: ["*"], verification: "none" }))
    .results;
  const before = storeSize();
  const since = new Date(Date.now() - 3_600_000).toISOString();
  for (let r = 0; r < REPLAYS; r++) await api("POST", `/webhooks/${wh.id}/replay`, { since });
  const after = storeSize();
  console.log(JSON.stringify({ events: N, replays: REPLAYS, before, after }));
} finally {
  proc.kill(9);
  await proc.exited;
  fs.rmSync(dir, { recursive: true, force: true });
}
