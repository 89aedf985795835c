import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import type { Event } from "../../src/events/schema.ts";
import { catchUp } from "../../src/feedback/lookup-indexer.ts";
import { originals, storeLookup } from "../../src/feedback/store-lookup.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { insertEvents } from "../../src/store/sqlite/events.ts";
import {
  activateMessageLookup,
  findMessagesByMessageId,
  findMessagesByQueueId,
  indexMessageLookup,
  messageLookupState,
  pruneMessageLookup,
} from "../../src/store/sqlite/message-lookup.ts";
import { lookupKey } from "../../src/store/lookup-key.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

// The lookup index (store/message-lookup.ts) over a real SQLite file: whatever part of the
// events it has reached, a lookup answers the same; it skips the feedback intake's own events,
// survives a hash collision, and follows retention.

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function store(): Store {
  const s = openStore(path.join(tempDir(), "hookd.db"));
  stores.push(s);
  return s;
}

let n = 0;
function ev(type: string, fields: Record<string, unknown>): Event {
  n++;
  return { event_id: `e${n}`, type, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), host: "mx1", ...fields } as Event;
}

/** A message to `rcpts`: per recipient an injection and a delivery. */
function message(i: number, rcpts: string[], extra: Record<string, unknown> = {}): Event[] {
  const base = { queue_id: `Q${i}`, message_id: `m${i}@example.com`, mail_from: "news@example.com", ...extra };
  return rcpts.flatMap((r) => [ev("injection", { ...base, rcpt_to: r }), ev("delivery", { ...base, rcpt_to: r, dsn: "2.0.0" })]);
}

describe("message lookup index", () => {
  test("the same answers not indexed, half indexed and fully indexed; newest first", async () => {
    const s = store();
    for (let i = 0; i < 40; i++) await storeEvents(s, message(i % 10, [`a${i}@example.org`, `b${i}@example.org`]), "api");
    const lookup = storeLookup(s);
    const ask = async () => [
      await lookup.findByMessageId("m3@example.com", 100),
      await lookup.findByQueueId("Q7", undefined, 100),
      await lookup.findByMessageId("nope@x", 100),
    ];
    const unindexed = await ask();
    // 4 messages with that id, 2 recipients each, newest first.
    expect(unindexed[0]!.map((o) => o.rcpt_to)).toEqual([
      "b33@example.org",
      "a33@example.org",
      "b23@example.org",
      "a23@example.org",
      "b13@example.org",
      "a13@example.org",
      "b3@example.org",
      "a3@example.org",
    ]);
    expect(unindexed[1]).toHaveLength(8);
    expect(unindexed[2]).toEqual([]);
    const raw = findMessagesByMessageId(sqliteOf(s), "m3@example.com", 100);
    expect(raw.map((r) => r.seq)).toEqual([...raw.map((r) => r.seq)].sort((a, b) => b - a));

    activateMessageLookup(sqliteOf(s));
    expect(indexMessageLookup(sqliteOf(s), 70)).toMatchObject({ read: 70, behind: 90 });
    expect(await ask()).toEqual(unindexed);
    while (indexMessageLookup(sqliteOf(s), 70).read > 0);
    expect(messageLookupState(sqliteOf(s))).toEqual({ indexedSeq: 160, maxSeq: 160 });
    expect(await ask()).toEqual(unindexed);
    // Events stored after the index caught up are found too (the scan of what it has not reached).
    await storeEvents(s, message(3, ["late@example.org"]), "api");
    expect((await lookup.findByMessageId("m3@example.com", 100)).map((o) => o.rcpt_to)[0]).toBe("late@example.org");
  });

  test("one index row per Message-ID and queue id of each recipient in a step, none for the intake's own events", async () => {
    const s = store();
    await storeEvents(s, message(1, ["a@example.org", "b@example.org"]), "api");
    await storeEvents(s, [ev("out_of_band", { queue_id: "Q1", message_id: "m1@example.com", rcpt_to: "a@example.org" })], "feedback");
    await storeEvents(s, [ev("custom", { custom_type: "x.y" })], "api");
    activateMessageLookup(sqliteOf(s));
    expect(indexMessageLookup(sqliteOf(s))).toEqual({ read: 6, added: 4, behind: 0 });
    // The index points at each recipient's first event in the step: its injection.
    const found = findMessagesByMessageId(sqliteOf(s), "m1@example.com", 100);
    expect(found.map((r) => `${r.seq}:${r.rcpt_to}`)).toEqual(["3:b@example.org", "1:a@example.org"]);
  });

  test("a row whose hash matches another message's does not make it an answer", async () => {
    const s = store();
    await storeEvents(s, message(1, ["a@example.org"]), "api");
    activateMessageLookup(sqliteOf(s));
    indexMessageLookup(sqliteOf(s));
    // As if m2@example.com hashed like m1: its key points at m1's events.
    sqliteOf(s).run("INSERT INTO message_lookup (h, seq) VALUES (?, 1)", [lookupKey("message_id", "m2@example.com")]);
    expect(findMessagesByMessageId(sqliteOf(s), "m2@example.com", 10)).toEqual([]);
    expect(findMessagesByMessageId(sqliteOf(s), "m1@example.com", 10).map((r) => r.seq)).toEqual([1]);
  });

  test("rows of events retention removed are pruned, oldest first, and only those", async () => {
    const s = store();
    for (let i = 0; i < 5; i++) await storeEvents(s, message(i, ["a@example.org"]), "api");
    activateMessageLookup(sqliteOf(s));
    indexMessageLookup(sqliteOf(s));
    expect((sqliteOf(s).query("SELECT count(*) AS c FROM message_lookup").get() as { c: number }).c).toBe(10);
    sqliteOf(s).run("DELETE FROM events WHERE seq <= 4"); // messages 0 and 1, as retention would
    expect(pruneMessageLookup(sqliteOf(s), 3)).toBe(3);
    expect(pruneMessageLookup(sqliteOf(s))).toBe(1);
    expect(pruneMessageLookup(sqliteOf(s))).toBe(0);
    expect(findMessagesByQueueId(sqliteOf(s), "Q2", 10).map((r) => r.seq)).toEqual([5]);
  });

  test("catchUp works through a backlog in steps and says what is left", async () => {
    const s = store();
    for (let i = 0; i < 30; i++) await storeEvents(s, message(i, ["a@example.org"]), "api");
    activateMessageLookup(sqliteOf(s));
    expect(await catchUp(s, { step: 7, maxSteps: 2 })).toBe(46);
    expect(await catchUp(s, { step: 7 })).toBe(0);
    expect(messageLookupState(sqliteOf(s))!.indexedSeq).toBe(60);
  });
});

describe("storeLookup: stored events → original messages", () => {
  test("one entry per recipient, fields filled from its other events, campaign fields from the body", async () => {
    const s = store();
    await storeEvents(s, message(1, ["a@example.org", "b@example.org"]), "api");
    insertEvents(
      sqliteOf(s),
      [
        ev("open", {
          queue_id: "Q1",
          message_id: "m1@example.com",
          rcpt_to: "a@example.org",
          campaign_id: "spring",
          tags: ["news"],
          metadata: { list: 7 },
        }),
      ],
      "api",
    );
    const lookup = storeLookup(s);
    const found = await lookup.findByMessageId("m1@example.com", 10);
    expect(found).toEqual([
      {
        host: "mx1",
        queue_id: "Q1",
        message_id: "m1@example.com",
        rcpt_to: "a@example.org",
        mail_from: "news@example.com",
        campaign_id: "spring",
        tags: ["news"],
        metadata: { list: 7 },
      },
      { host: "mx1", queue_id: "Q1", message_id: "m1@example.com", rcpt_to: "b@example.org", mail_from: "news@example.com" },
    ]);
    expect(await lookup.findByMessageId("m1@example.com", 1)).toHaveLength(1);
    expect(await lookup.verifyVerpToken("anything")).toBeNull();
  });

  test("a queue id on two hosts: the host the report names first", async () => {
    const s = store();
    await storeEvents(s, [ev("injection", { queue_id: "QX", rcpt_to: "a@example.org", host: "mx1" })], "api");
    await storeEvents(s, [{ ...ev("injection", { queue_id: "QX", rcpt_to: "b@example.org" }), host: "mx2.example.com" } as Event], "api");
    const lookup = storeLookup(s);
    expect((await lookup.findByQueueId("QX", undefined, 10)).map((o) => o.host)).toEqual(["mx2.example.com", "mx1"]);
    expect((await lookup.findByQueueId("QX", "MX1", 10)).map((o) => o.host)).toEqual(["mx1", "mx2.example.com"]);
  });

  test("an entry without a recipient is dropped when its message has recipients", () => {
    const ref = (rcpt: string | null, seq: number) => ({
      seq,
      queue_id: "Q",
      message_id: "m@x",
      rcpt_to: rcpt,
      mail_from: null,
      host: "mx1",
      campaign_id: null,
      tags: null,
      metadata: "{bad",
    });
    expect(originals([ref(null, 3), ref("a@x", 2), ref("a@x", 1)], 10)).toEqual([
      { host: "mx1", queue_id: "Q", message_id: "m@x", rcpt_to: "a@x" },
    ]);
    expect(originals([ref(null, 3)], 10)).toEqual([{ host: "mx1", queue_id: "Q", message_id: "m@x" }]);
  });
});
