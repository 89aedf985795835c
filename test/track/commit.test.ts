import { describe, expect, test } from "bun:test";
import path from "node:path";
import { openStore } from "../../src/store/open.ts";
import { createHitCommitter } from "../../src/track/commit.ts";
import type { Hit } from "../../src/track/events.ts";
import { signToken, type TokenPayload } from "../../src/track/tokens.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

const key = { id: 0, secret: new Uint8Array(32).fill(3) };
const AT = Date.parse("2026-03-01T12:00:30.250Z");

function hit(kind: TokenPayload["kind"], over: Partial<Hit> = {}, ref?: number): Hit {
  const payload: TokenPayload = {
    kind,
    issuedAt: Math.floor(AT / 1000) - 3600,
    queueId: "Q1",
    rcpt: "alice@example.org",
    ...(ref === undefined ? {} : { ref }),
    ...(kind === "click" ? { url: "https://example.com/" } : {}),
  };
  return {
    token: signToken(payload, key),
    payload,
    at: AT,
    ip: "198.51.100.7",
    userAgent: "Firefox",
    verdict: { machine: false },
    ...over,
  };
}

describe("one batch of hits, one transaction", () => {
  test("events through the store's insert path, duplicates left out, campaign row read, minute counts; FULL only for a one-click's batch", async () => {
    // As the tracking writer opens it: NORMAL, and FULL for the commit of a one-click.
    const store = openStore(path.join(tempDir(), "hookd.db"), { durability: "normal" });
    const db = sqliteOf(store);
    expect((db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous).toBe(1);
    const [ref] = await store.tracking.insertMessages([JSON.stringify({ campaign_id: "spring", tags: ["a"] })], AT);
    const commit = createHitCommitter(store, { host: "node1" });
    const open = hit("open", {}, ref);
    const r1 = await commit([open, { ...open, at: AT + 100 }, hit("click", { verdict: { machine: true, reason: "fast_click" } })]);
    expect(r1).toEqual({ stored: { open: 1, click: 1 }, machine: 1, durable: false });
    const r2 = await commit([hit("unsubscribe"), hit("unsubscribe", { at: AT + 5000 })]);
    expect(r2).toEqual({ stored: { list_unsubscribe: 1 }, machine: 0, durable: true });
    expect((db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous).toBe(1); // NORMAL again
    const rows = db.query("SELECT type, source, rcpt_to, queue_id, body FROM events ORDER BY seq").all() as {
      type: string;
      source: string;
      rcpt_to: string;
      queue_id: string;
      body: string;
    }[];
    expect(rows.map((r) => [r.type, r.source, r.rcpt_to, r.queue_id])).toEqual([
      ["open", "tracking", "alice@example.org", "Q1"],
      ["click", "tracking", "alice@example.org", "Q1"],
      ["list_unsubscribe", "tracking", "alice@example.org", "Q1"],
    ]);
    expect(JSON.parse(rows[0]!.body)).toMatchObject({ host: "node1", campaign_id: "spring", tags: ["a"], first: true, machine: false });
    expect(db.query("SELECT * FROM tracking_minutes").all()).toEqual([
      { minute: Math.floor(AT / 60_000), opens: 1, machine_opens: 0, clicks: 1, machine_clicks: 1, unsubscribes: 1 },
    ]);
    await store.close();
  });

  test("a failing batch stores nothing of itself", async () => {
    const store = openStore(path.join(tempDir(), "hookd.db"));
    const commit = createHitCommitter(store, { host: "node1" });
    const second = hit("open", { ip: "203.0.113.1" });
    sqliteOf(store).run(
      "CREATE TRIGGER refuse_second BEFORE INSERT ON events WHEN NEW.body LIKE '%203.0.113.1%' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    await expect(commit([hit("open"), second])).rejects.toThrow("refused");
    expect(sqliteOf(store).query("SELECT count(*) AS n FROM events").get()).toEqual({ n: 0 });
    expect(sqliteOf(store).query("SELECT count(*) AS n FROM tracking_firsts").get()).toEqual({ n: 0 });
    store.close();
  });
});
