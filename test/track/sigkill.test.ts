import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, tempDir, within, type SpawnedHookd } from "../helpers/hookd.ts";

// What an answer of the tracking listener promises, proved with SIGKILL on a real process:
// - A one-click 200 means its event is committed (and fsynced: synchronous=FULL): every
//   one-click answered 200 before the kill is in the store after the restart.
// - A pixel or redirect is answered once its commit finished or after 5 ms, whichever is
//   first. A hit whose commit finished survives a process kill (WAL, synchronous=NORMAL: no
//   fsync, so a power cut may take the last ones back, as for the log ingest).

const BASE = "https://t.example.com";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

type Links = { rcpt: string; click: string; pixel: string; unsubscribe: string };

function startedTracking(h: SpawnedHookd): string {
  const line = h.stdoutLines.map((l) => JSON.parse(l) as { msg: string; tracking?: string }).find((l) => l.msg === "hookd started");
  return line!.tracking!;
}

async function api(h: SpawnedHookd, key: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${h.url}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text) as { results: unknown };
}

async function messages(h: SpawnedHookd, key: string, n: number, tag: string): Promise<Links[]> {
  const out: Links[] = [];
  for (let i = 0; i < n; i++) {
    const rcpt = `${tag}-${i}@example.org`;
    const r = (
      await api(h, key, "POST", "/tracking/rewrite", {
        html: `<a href="https://example.com/${tag}/${i}">x</a>`,
        rcpt_to: rcpt,
        message_id: `${tag}.${i}@example.com`,
      })
    ).results as {
      html: string;
      headers: Record<string, string>;
    };
    out.push({
      rcpt,
      click: /href="([^"]+)"/.exec(r.html)![1]!,
      pixel: /src="([^"]+)"/.exec(r.html)![1]!,
      unsubscribe: r.headers["List-Unsubscribe"]!.slice(1, -1),
    });
  }
  return out;
}

async function stored(h: SpawnedHookd, key: string, type: string): Promise<Set<string>> {
  const page = (await api(h, key, "GET", `/events?type=${type}&limit=1000`)).results as { rcpt_to: string }[];
  return new Set(page.map((e) => e.rcpt_to));
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

async function recordedTotal(h: SpawnedHookd): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return Number(/^hookd_tracking_hits_recorded_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe("kill -9 and the tracking listener's answers", () => {
  test("committed opens and clicks, and every one-click answered 200, survive SIGKILL; the store stays intact", async () => {
    const dir = tempDir();
    const dbPath = path.join(dir, "hookd.db");
    const env = {
      HOOKD_STORAGE_PATH: dbPath,
      HOOKD_TRACKING_LISTEN: "127.0.0.1:0",
      HOOKD_TRACKING_BASE_URL: BASE,
      HOOKD_TRACKING_RATE_LIMIT: "0",
      HOOKD_SERVER_RATE_LIMIT: "0",
    };
    let h = await spawnHookd({ cwd: dir, env });
    const key = /hookd_[A-Za-z0-9_-]{30,}/.exec(h.stderr())![0];
    try {
      // 1. Answered, committed, then killed.
      const a = await messages(h, key, 40, "a");
      const listener = startedTracking(h);
      const local = (u: string) => listener + u.slice(BASE.length);
      const answers = await Promise.all(
        a.flatMap((m) => [
          fetch(local(m.click), { redirect: "manual", headers: { "user-agent": FIREFOX } }).then((r) => r.status),
          fetch(local(m.pixel), { headers: { "user-agent": FIREFOX } }).then(async (r) => (await r.arrayBuffer(), r.status)),
        ]),
      );
      expect(answers.filter((s) => s !== 302 && s !== 200)).toEqual([]);
      await eventually(async () => (await recordedTotal(h)) >= 80);
      h.proc.kill(9);
      expect(await within(h.exited, 10_000, "still running")).not.toBe("still running");
      expect(integrity(dbPath)).toBe("ok");

      h = await spawnHookd({ cwd: dir, env });
      expect([...(await stored(h, key, "click"))].sort()).toEqual(a.map((m) => m.rcpt).sort());
      expect([...(await stored(h, key, "open"))].sort()).toEqual(a.map((m) => m.rcpt).sort());

      // 2. One-clicks streaming while the process is killed: every 200 is stored.
      const b = await messages(h, key, 150, "b");
      const local2 = (u: string) => startedTracking(h) + u.slice(BASE.length);
      const acked: string[] = [];
      let next = 0;
      const loop = async () => {
        while (next < b.length) {
          const m = b[next++]!;
          try {
            const res = await fetch(local2(m.unsubscribe), {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body: "List-Unsubscribe=One-Click",
              signal: AbortSignal.timeout(5000),
            });
            await res.arrayBuffer();
            if (res.status === 200) acked.push(m.rcpt);
          } catch {
            return; // the process is gone
          }
        }
      };
      const loops = Array.from({ length: 4 }, loop);
      await eventually(() => acked.length >= 20, { intervalMs: 5 });
      h.proc.kill(9);
      expect(await within(h.exited, 10_000, "still running")).not.toBe("still running");
      await within(Promise.all(loops), 10_000, null);
      expect(acked.length).toBeLessThan(b.length); // killed mid-stream, not after
      expect(integrity(dbPath)).toBe("ok");

      h = await spawnHookd({ cwd: dir, env });
      const unsubscribed = await stored(h, key, "list_unsubscribe");
      expect(acked.filter((r) => !unsubscribed.has(r))).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
