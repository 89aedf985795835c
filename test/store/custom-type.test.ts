// Custom events carry their name in events.custom_type, so subscriptions by name are decided
// from the light columns: the insert paths fill it, the migration fills it for events stored
// before it existed, and the backlog counts by it.
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import path from "node:path";
import type { Event } from "../../src/events/schema.ts";
import { backlog } from "../../src/store/sqlite/batch-views.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";
import { insertEvents, insertRowsTx } from "../../src/store/sqlite/events.ts";
import { migrate, MIGRATIONS } from "../../src/store/sqlite/migrate.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
});

const TS = "2026-11-23T13:07:09.123Z";
const custom = (id: string, name: string) =>
  ({ event_id: id, type: "custom", custom_type: name, timestamp: TS, host: "mx1", data: { a: 1 } }) as Event;
const delivery = (id: string) => ({ event_id: id, type: "delivery", timestamp: TS, host: "mx1", rcpt_to: "a@example.org" }) as Event;
const column = (db: Database) => db.query("SELECT event_id, custom_type FROM events ORDER BY seq").all();

test("both insert paths store a custom event's name in custom_type, NULL for other types", () => {
  store = openStore(path.join(tempDir(), "hookd.db"));
  insertEvents(sqliteOf(store), [custom("c1", "profile.created"), delivery("d1")], "api");
  insertRowsTx(sqliteOf(store), eventRows([custom("c2", "order.shipped"), delivery("d2")]), "/var/log/mail.log");
  expect(column(sqliteOf(store))).toEqual([
    { event_id: "c1", custom_type: "profile.created" },
    { event_id: "d1", custom_type: null },
    { event_id: "c2", custom_type: "order.shipped" },
    { event_id: "d2", custom_type: null },
  ]);
});

test("the migration fills custom_type for the custom events stored before it", () => {
  const db = new Database(path.join(tempDir(), "hookd.db"), { create: true });
  try {
    const before = MIGRATIONS.find((m) => m.sql.includes("ADD COLUMN custom_type"))!.version - 1;
    migrate(db, before);
    const insert = db.prepare(
      "INSERT INTO events (event_id, type, ts, host, source, body, received_at) VALUES (?, ?, 0, 'mx1', 'api', ?, 0)",
    );
    insert.run("c1", "custom", JSON.stringify(custom("c1", "profile.deleted")));
    insert.run("d1", "delivery", JSON.stringify(delivery("d1")));
    migrate(db);
    expect(column(db)).toEqual([
      { event_id: "c1", custom_type: "profile.deleted" },
      { event_id: "d1", custom_type: null },
    ]);
  } finally {
    db.close();
  }
});

test("backlog counts a webhook's named custom events beside its types", () => {
  store = openStore(path.join(tempDir(), "hookd.db"));
  insertEvents(
    sqliteOf(store),
    [custom("c1", "profile.created"), custom("c2", "profile.updated"), delivery("d1"), custom("c3", "profile.created")],
    "api",
  );
  expect(backlog(sqliteOf(store), 0, ["profile.created"]).events).toBe(2);
  expect(backlog(sqliteOf(store), 0, ["profile.created", "delivery"]).events).toBe(3);
  expect(backlog(sqliteOf(store), 0, ["custom"]).events).toBe(3);
  expect(backlog(sqliteOf(store), 0, ["*"]).events).toBe(4);
  expect(backlog(sqliteOf(store), 1, ["profile.created"]).events).toBe(1);
});
