import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import type { EventInput } from "../../src/events/schema.ts";
import { groupCommitter, localMtaMatcher } from "../../src/feedback/intake.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

// The intake's commit (feedback/intake.ts) on a real SQLite file: all of a message's events
// or none; messages committed in the same turn of the event loop share one transaction.

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function store(): Store {
  const s = openStore(path.join(tempDir(), "hookd.db"));
  stores.push(s);
  // A store that refuses one recipient: the transaction holding it rolls back whole.
  sqliteOf(s).run(
    "CREATE TEMP TRIGGER refuse BEFORE INSERT ON events WHEN NEW.rcpt_to = 'refused@example.org' BEGIN SELECT RAISE(ABORT, 'refused'); END",
  );
  return s;
}

const oob = (id: string, rcpt: string): EventInput => ({
  event_id: id,
  type: "out_of_band",
  timestamp: "2026-01-01T00:00:00.000Z",
  rcpt_to: rcpt,
  dsn: "5.1.1",
});
const rcpts = (s: Store) =>
  (sqliteOf(s).query("SELECT rcpt_to FROM events ORDER BY seq").all() as { rcpt_to: string }[]).map((r) => r.rcpt_to);

describe("groupCommitter", () => {
  test("commits asked for together share one transaction: one refused message fails them all, none stored", async () => {
    const s = store();
    const stored: string[][] = [];
    const commit = groupCommitter(s, "h", Date.now, (types) => stored.push(types));
    const results = await Promise.allSettled([
      commit([oob("a", "a@example.org"), oob("a2", "a2@example.org")]),
      commit([oob("b", "refused@example.org")]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(rcpts(s)).toEqual([]);
    expect(stored).toEqual([]);
  });

  test("commits in different turns are separate; each caller learns the types it stored (none for a repeat)", async () => {
    const s = store();
    const stored: string[][] = [];
    const commit = groupCommitter(s, "mx9", Date.now, (types) => stored.push(types));
    await Promise.all([commit([oob("a", "a@example.org")]), commit([oob("b", "b@example.org")])]);
    await commit([oob("a", "a@example.org")]);
    await expect(commit([oob("c", "refused@example.org")])).rejects.toThrow("refused");
    expect(rcpts(s)).toEqual(["a@example.org", "b@example.org"]);
    expect(stored).toEqual([["out_of_band"], ["out_of_band"], []]);
    // Normalised as stored events are: the host filled, the time in UTC.
    const body = JSON.parse((sqliteOf(s).query("SELECT body FROM events WHERE event_id = 'a'").get() as { body: string }).body) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ event_id: "a", type: "out_of_band", host: "mx9", timestamp: "2026-01-01T00:00:00.000Z" });
  });
});

describe("localMtaMatcher", () => {
  test("case and a trailing dot do not matter; other names do", () => {
    const ours = localMtaMatcher(["mx1.example.com", "MX2.example.com."]);
    expect(["mx1.example.com", "MX1.EXAMPLE.COM.", "mx2.example.com", " mx2.example.com "].map(ours)).toEqual([true, true, true, true]);
    expect(["mx3.example.com", "example.com", "mx1.example.com.evil"].map(ours)).toEqual([false, false, false]);
  });
});
