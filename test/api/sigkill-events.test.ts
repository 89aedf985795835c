import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { spawnHookd, tempDir, within, type SpawnedHookd } from "../helpers/hookd.ts";

// A 2xx to POST /events promises the events are on disk. Prove it the hard way: a real
// hookd process takes concurrent batches and is killed with SIGKILL mid-stream; every
// event_id it acknowledged must be there after a restart, and the file must be intact.

const ROUNDS = 3;
const LOOPS = 4;
const BATCH = 50;

async function allEventIds(url: string, key: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let query = "?limit=1000";
  for (let page = 0; page < 1000; page++) {
    const res = await fetch(`${url}/api/v1/events${query}`, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) throw new Error(`GET /events ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { results: { event_id: string }[]; next_cursor: string | null };
    for (const e of body.results) ids.add(e.event_id);
    if (!body.next_cursor) return ids;
    query = `?limit=1000&cursor=${body.next_cursor}`;
  }
  throw new Error("GET /events: too many pages");
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/**
 * Streams batches from LOOPS concurrent loops and kills the process once `killAfterPosts`
 * were acknowledged (the other loops' requests are then mid-flight); returns the acknowledged ids.
 */
async function streamUntilKilled(h: SpawnedHookd, key: string, round: number, killAfterPosts: number) {
  const acked: string[] = [];
  let posts = 0;
  let stop = false;
  let enough = () => {};
  const reached = new Promise<void>((resolve) => (enough = resolve));
  const loop = async (l: number) => {
    for (let b = 0; !stop; b++) {
      const events = Array.from({ length: BATCH }, (_, i) => ({
        type: i % 2 ? "open" : "custom",
        event_id: `r${round}-l${l}-b${b}-e${i}`,
        rcpt_to: `user${i}@example.org`,
        ...(i % 2 ? {} : { custom_type: "load.test" }),
      }));
      let ok = false;
      try {
        const res = await fetch(`${h.url}/api/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(events),
          signal: AbortSignal.timeout(5_000),
        });
        await res.arrayBuffer();
        ok = res.status >= 200 && res.status < 300;
        if (!ok && res.status !== 0) throw new Error(`POST /events answered ${res.status}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith("POST /events answered")) throw err;
        // The process is gone: connection refused/reset. Nothing from this batch was acknowledged.
        return;
      }
      if (ok) {
        posts++;
        for (const e of events) acked.push(e.event_id);
        if (posts >= killAfterPosts) enough();
      }
    }
  };
  const loops = Array.from({ length: LOOPS }, (_, l) => loop(l));
  // Every loop ending first (hookd died by itself) leaves the kill to find it gone.
  await Promise.race([reached, Promise.all(loops)]);
  h.proc.kill(9);
  const code = await within(h.exited, 10_000, "still running");
  stop = true;
  await within(Promise.all(loops), 15_000, null);
  return { acked, posts, code, signal: h.proc.signalCode };
}

describe("kill -9 during POST /events", () => {
  test(`every acknowledged event survives SIGKILL (${ROUNDS} rounds) and the store stays intact`, async () => {
    const dir = tempDir();
    const dbPath = path.join(dir, "hookd.db");
    // No per-key rate limit: this measures durability, and a 429 would end a loop early.
    const env = { HOOKD_STORAGE_PATH: dbPath, HOOKD_SERVER_RATE_LIMIT: "0" };
    let h: SpawnedHookd | null = await spawnHookd({ cwd: dir, env });
    let key = "";
    try {
      const announced = /hookd_[A-Za-z0-9_-]{30,}/.exec(h.stderr());
      expect(announced).not.toBeNull();
      key = announced![0];

      const allAcked = new Set<string>();
      for (let round = 1; round <= ROUNDS; round++) {
        const killAfter = 300 + Math.floor(Math.random() * 500);
        const r = await streamUntilKilled(h, key, round, killAfter);
        expect(r.code).not.toBe("still running");
        expect(r.signal).toBe("SIGKILL");
        // Not vacuous: the server was really taking writes when it died.
        expect(r.posts).toBeGreaterThan(5);
        for (const id of r.acked) allAcked.add(id);

        h = await spawnHookd({ cwd: dir, env });
        // No new admin key: the store (and its keys) survived.
        expect(h.stderr()).not.toMatch(/hookd_[A-Za-z0-9_-]{30,}/);
        const stored = await allEventIds(h.url, key);
        const missing = [...allAcked].filter((id) => !stored.has(id));
        expect(missing.length === 0 ? "none missing" : `${missing.length} missing, e.g. ${missing.slice(0, 5).join(", ")}`).toBe(
          "none missing",
        );
        // Whole batches only: every stored event of this round belongs to a complete batch of 50.
        const perBatch = new Map<string, number>();
        for (const id of stored) {
          if (!id.startsWith(`r${round}-`)) continue;
          const batch = id.replace(/-e\d+$/, "");
          perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
        }
        const partial = [...perBatch].filter(([, n]) => n !== BATCH);
        expect(partial).toEqual([]);
        expect(integrity(dbPath)).toBe("ok");
      }
      expect(allAcked.size).toBeGreaterThan(ROUNDS * 5 * BATCH);

      expect(await h.stop()).toBe(0);
      h = null;
      expect(integrity(dbPath)).toBe("ok");
      const db = new Database(dbPath, { readonly: true });
      try {
        const ids = new Set((db.query("SELECT event_id FROM events").all() as { event_id: string }[]).map((r) => r.event_id));
        expect([...allAcked].filter((id) => !ids.has(id))).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      await h?.stop();
    }
  }, 120_000);
});
