import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EventInput } from "../../src/events/schema.ts";
import { openStore } from "../../src/store/open.ts";
import { createHitCommitter } from "../../src/track/commit.ts";
import { engagementEvent, engagementEventId, firstKey, type CampaignRow, type Hit } from "../../src/track/events.ts";
import { createHitWriter } from "../../src/track/hits.ts";
import type { TrackingKey } from "../../src/track/keyring.ts";
import { signToken, type TokenPayload } from "../../src/track/tokens.ts";
import { sqliteOf } from "../helpers/store.ts";

const key: TrackingKey = { id: 1, secret: new Uint8Array(32).fill(9) };
const ISSUED = 1_780_000_000;
const message = { issuedAt: ISSUED, host: "mx1", queueId: "4BCD21C03F2", messageId: "m1@example.com", rcpt: "alice@example.org" };

function hit(kind: TokenPayload["kind"], over: Partial<Hit> = {}, payload: Partial<TokenPayload> = {}): Hit {
  const p: TokenPayload = { ...message, kind, ...(kind === "click" ? { url: "https://shop.example.com/sale" } : {}), ...payload };
  return {
    token: signToken(p, key),
    payload: p,
    at: (ISSUED + 3600) * 1000 + 250,
    ip: "198.51.100.7",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    verdict: { machine: false },
    ...over,
  };
}

describe("the event", () => {
  test("open, click and list_unsubscribe carry the message, the client, first and machine, and validate", () => {
    const campaign: CampaignRow = { campaign_id: "spring", tags: ["newsletter"], metadata: { customer: "42" } };
    const click = engagementEvent(hit("click", { verdict: { machine: true, reason: "fast_click" } }), {
      first: true,
      campaign,
      host: "node1",
    });
    expect(click).toEqual({
      event_id: click.event_id,
      type: "click",
      timestamp: "2026-05-28T21:26:40.250Z",
      host: "mx1",
      queue_id: "4BCD21C03F2",
      message_id: "m1@example.com",
      rcpt_to: "alice@example.org",
      campaign_id: "spring",
      tags: ["newsletter"],
      metadata: { customer: "42" },
      url: "https://shop.example.com/sale",
      user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
      ip: "198.51.100.7",
      first: true,
      machine: true,
      machine_reason: "fast_click",
    });
    expect(Object.keys(click).slice(0, 4)).toEqual(["event_id", "type", "timestamp", "host"]);
    for (const kind of ["open", "click", "unsubscribe"] as const) {
      const e = engagementEvent(hit(kind), { first: false, host: "node1" });
      expect(EventInput.parse(e)).toEqual(e);
      expect(e.machine).toBe(false);
      expect("machine_reason" in e).toBe(false);
    }
    expect(engagementEvent(hit("unsubscribe"), { first: true, host: "n" }).type).toBe("list_unsubscribe");
  });

  test("a token without recipient or host: rcpt_to absent, host from the row or this node", () => {
    const p = { rcpt: undefined, host: undefined };
    const e = engagementEvent(hit("open", {}, p), { first: true, host: "node1" });
    expect("rcpt_to" in e).toBe(false);
    expect(e.host).toBe("node1");
    expect(EventInput.parse(e)).toEqual(e);
    const fromRow = engagementEvent(hit("open", {}, { ...p, ref: 5 }), {
      first: true,
      host: "node1",
      campaign: { host: "mx2", rcpt_to: "bob@example.org" },
    });
    expect([fromRow.host, fromRow.rcpt_to]).toEqual(["mx2", "bob@example.org"]);
  });

  test("an overlong User-Agent is cut to what the schema allows", () => {
    const e = engagementEvent(hit("open", { userAgent: "x".repeat(5000) }), { first: true, host: "n" });
    expect(e.user_agent?.length).toBe(1024);
    expect(EventInput.parse(e)).toBeTruthy();
  });
});

describe("event ids", () => {
  test("one-click: the same token gives the same id whenever it is POSTed, from wherever", () => {
    const first = hit("unsubscribe");
    const again = { ...first, at: first.at + 86_400_000, ip: "203.0.113.9", userAgent: "other" };
    expect(engagementEventId(again)).toBe(engagementEventId(first));
    expect(engagementEventId(hit("unsubscribe", {}, { rcpt: "bob@example.org" }))).not.toBe(engagementEventId(first));
  });

  test("opens and clicks: a re-fetch in the same second from the same client is the same event; anything else is new", () => {
    const a = hit("open");
    const id = engagementEventId(a);
    expect(engagementEventId({ ...a, at: a.at + 500 })).toBe(id);
    expect(engagementEventId({ ...a, at: a.at + 1000 })).not.toBe(id);
    expect(engagementEventId({ ...a, ip: "198.51.100.8" })).not.toBe(id);
    expect(engagementEventId({ ...a, userAgent: "Other/1.0" })).not.toBe(id);
    expect(engagementEventId({ ...a, verdict: { machine: true, reason: "head" } })).not.toBe(id); // a HEAD, then the reader's GET
    expect(engagementEventId({ ...a, verdict: { machine: true, reason: "prefetch" } })).not.toBe(
      engagementEventId({ ...a, verdict: { machine: true, reason: "head" } }),
    );
    expect(engagementEventId(hit("click"))).not.toBe(id);
  });

  test("ids look like the ingest's: 26 URL-safe characters, ordered by time", () => {
    const early = engagementEventId(hit("open", { at: 1_700_000_000_000 }));
    const late = engagementEventId(hit("open", { at: 1_800_000_000_000 }));
    expect(early).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
    expect(early < late).toBe(true);
  });

  test("the first-key names type, message and recipient, not the client or the time", () => {
    const a = hit("open");
    expect(firstKey({ ...a, at: a.at + 99_000, ip: "203.0.113.1" })).toBe(firstKey(a));
    expect(firstKey(hit("click"))).not.toBe(firstKey(a));
    expect(firstKey(hit("open", {}, { rcpt: "bob@example.org" }))).not.toBe(firstKey(a));
    expect(firstKey(a)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe("committed through the group-commit writer into the store", () => {
  let dir = "";
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  // The store's commit: `first` claimed, the campaign row read, the events inserted with
  // ON CONFLICT(event_id) DO NOTHING, in one transaction per batch.
  async function store() {
    dir = mkdtempSync(path.join(os.tmpdir(), "hookd-track-"));
    const st = openStore(path.join(dir, "t.db"));
    const [ref] = await st.tracking.insertMessages([JSON.stringify({ campaign_id: "spring" })], Date.now());
    const commit = createHitCommitter(st, { host: "node1" });
    const events = () =>
      (sqliteOf(st).query("SELECT body FROM events ORDER BY seq").all() as { body: string }[]).map(
        (r) => JSON.parse(r.body) as Record<string, unknown>,
      );
    return {
      st,
      ref: ref!,
      commit: async (hits: Hit[]) => {
        await commit(hits);
      },
      events,
    };
  }

  test("first is decided inside the batch; repeated one-clicks and same-second re-fetches are stored once", async () => {
    const s = await store();
    const w = createHitWriter<Hit>({ commit: s.commit, windowMs: 1 });
    const open = hit("open", {}, { ref: s.ref });
    const unsub = hit("unsubscribe");
    await Promise.all([
      w.enqueue(open),
      w.enqueue({ ...open, at: open.at + 100 }), // same second, same client: the same event
      w.enqueue({ ...open, at: open.at + 2000 }),
      w.enqueue(unsub),
      w.enqueue({ ...unsub, at: unsub.at + 5000 }),
    ]);
    await w.enqueue({ ...unsub, at: unsub.at + 60_000 });
    await w.stop();
    const events = s.events();
    expect(events.map((e) => [e.type, e.first, e.campaign_id])).toEqual([
      ["open", true, "spring"],
      ["open", false, "spring"],
      ["list_unsubscribe", true, undefined],
    ]);
    await s.st.close();
  });
});
