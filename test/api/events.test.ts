import { describe, expect, test } from "bun:test";
import { errorBody, testResources, type TestApp } from "../helpers/hookd.ts";

const t = testResources();

type StoredEvent = Record<string, unknown> & { event_id: string; type: string; timestamp: string; host: string };
type Page = { results: StoredEvent[]; next_cursor: string | null; links: { next: string | null } };

async function post(app: TestApp, events: unknown) {
  const res = await app.api("POST", "/events", { body: events });
  return { status: res.status, text: await res.text() };
}

async function accepted(app: TestApp, events: unknown[]) {
  const r = await post(app, events);
  expect(`${r.status} ${r.text}`).toStartWith("200 ");
  return (JSON.parse(r.text) as { results: { accepted: number; duplicates: number; event_ids: string[] } }).results;
}

async function search(app: TestApp, query = ""): Promise<Page> {
  const res = await app.api("GET", `/events${query}`);
  const text = await res.text();
  expect(`${res.status} ${query} ${text.slice(0, 300)}`).toStartWith(`200 ${query} `);
  return JSON.parse(text) as Page;
}

async function allIds(app: TestApp): Promise<string[]> {
  return (await search(app, "?limit=1000")).results.map((e) => e.event_id).sort();
}

const T0 = Date.parse("2026-03-01T12:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const mixed = [
  {
    type: "injection",
    event_id: "inj-1",
    timestamp: at(0),
    queue_id: "Q1",
    message_id: "m1@example.com",
    mail_from: "news@example.com",
    rcpt_to: "alice@example.org",
    size: 2048,
    nrcpt: 1,
  },
  {
    type: "delivery",
    event_id: "dlv-1",
    timestamp: at(1),
    host: "mx9",
    queue_id: "Q1",
    message_id: "m1@example.com",
    rcpt_to: "alice@example.org",
    relay: "mx.example.org[203.0.113.5]:25",
    dsn: "2.0.0",
    response: "250 ok",
    delay_s: 1.5,
  },
  {
    type: "bounce",
    event_id: "bnc-1",
    timestamp: at(2),
    message_id: "m2@example.com",
    rcpt_to: "bob@example.org",
    dsn: "5.1.1",
    bounce_class: "unknown_user",
  },
  {
    type: "open",
    event_id: "opn-1",
    timestamp: at(3),
    message_id: "m1@example.com",
    rcpt_to: "alice@example.org",
    user_agent: "Mozilla/5.0",
    ip: "198.51.100.7",
  },
  {
    type: "click",
    event_id: "clk-1",
    timestamp: at(4),
    message_id: "m1@example.com",
    rcpt_to: "alice@example.org",
    url: "https://example.com/offer",
  },
  {
    type: "custom",
    event_id: "cus-1",
    timestamp: at(5),
    custom_type: "profile.updated",
    data: { field: "city" },
    metadata: { customer: "42" },
  },
  // No id, timestamp or host: hookd fills them in.
  { type: "spam_complaint", rcpt_to: "carol@example.org", feedback_type: "abuse" },
];

describe("POST /events", () => {
  test("a batch of several types is stored; accepted count and event_ids in request order", async () => {
    const app = await t.app();
    const before = Date.now();
    const r = await accepted(app, mixed);
    expect(r.accepted).toBe(mixed.length);
    expect(r.duplicates).toBe(0);
    expect(r.event_ids).toHaveLength(mixed.length);
    expect(r.event_ids.slice(0, 6)).toEqual(["inj-1", "dlv-1", "bnc-1", "opn-1", "clk-1", "cus-1"]);
    const generated = r.event_ids[6]!;
    expect(generated).toMatch(/^[A-Za-z0-9._:-]{10,}$/);

    const page = await search(app, "?limit=100");
    expect(page.results).toHaveLength(mixed.length);
    const byId = new Map(page.results.map((e) => [e.event_id, e]));
    expect(byId.get("dlv-1")).toEqual({ ...mixed[1], timestamp: at(1), host: "mx9" } as unknown as StoredEvent);
    expect(byId.get("cus-1")).toMatchObject({
      type: "custom",
      custom_type: "profile.updated",
      data: { field: "city" },
      metadata: { customer: "42" },
    });
    expect(typeof byId.get("inj-1")!.host).toBe("string");
    const filled = byId.get(generated)!;
    expect(filled.type).toBe("spam_complaint");
    expect(Date.parse(filled.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(filled.timestamp).toMatch(/Z$/);
    expect((filled.host as string).length).toBeGreaterThan(0);
  });

  test("timestamps with an offset are stored in UTC", async () => {
    const app = await t.app();
    await accepted(app, [{ type: "open", event_id: "tz", rcpt_to: "a@example.org", timestamp: "2026-03-01T14:30:00+02:00" }]);
    expect((await search(app)).results[0]!.timestamp).toBe("2026-03-01T12:30:00.000Z");
  });

  test("idempotent on event_id: re-POSTing reports duplicates and stores nothing twice", async () => {
    const app = await t.app();
    const withIds = mixed.slice(0, 6);
    const ids = ["inj-1", "dlv-1", "bnc-1", "opn-1", "clk-1", "cus-1"];
    expect((await accepted(app, withIds)).accepted).toBe(6);
    const again = await accepted(app, withIds);
    expect(again).toEqual({ accepted: 0, duplicates: 6, event_ids: ids });
    const partly = await accepted(app, [mixed[0], { type: "open", event_id: "new-1", rcpt_to: "d@example.org" }]);
    expect(partly).toEqual({ accepted: 1, duplicates: 1, event_ids: ["inj-1", "new-1"] });
    expect(await allIds(app)).toEqual([...ids, "new-1"].sort());
    // The same id twice in one batch is stored once.
    const twice = await accepted(app, [
      { type: "open", event_id: "twin", rcpt_to: "t@example.org" },
      { type: "open", event_id: "twin", rcpt_to: "t@example.org" },
    ]);
    expect(twice).toEqual({ accepted: 1, duplicates: 1, event_ids: ["twin", "twin"] });
    expect((await search(app, "?rcpt_to=t@example.org")).results.map((e) => e.event_id)).toEqual(["twin"]);
  });

  test("one invalid event → 400 naming [i].field, and nothing from that batch is stored", async () => {
    const app = await t.app();
    const cases: { batch: unknown[]; field: string; code: string }[] = [
      { batch: [mixed[0], mixed[1], { type: "delivery", rcpt_to: "not-an-address" }], field: "[2].rcpt_to", code: "invalid_format" },
      { batch: [mixed[0], { type: "teleport" }], field: "[1].type", code: "invalid_value" },
      { batch: [{ type: "open", rcpt_to: "a@example.org", colour: "red" }, mixed[1]], field: "[0].colour", code: "unknown_field" },
      { batch: [mixed[2], { type: "click", rcpt_to: "a@example.org" }], field: "[1].url", code: "required" },
      {
        batch: [mixed[3], mixed[4], mixed[5], { type: "open", rcpt_to: "a@example.org", timestamp: "yesterday" }],
        field: "[3].timestamp",
        code: "invalid_format",
      },
      { batch: [mixed[0], { type: "delivery", size: "big" }], field: "[1].size", code: "invalid_type" },
      { batch: [{ type: "open", rcpt_to: "a@example.org", event_id: "has spaces" }], field: "[0].event_id", code: "invalid_format" },
    ];
    for (const c of cases) {
      const r = await post(app, c.batch);
      expect(`${r.status} ${c.field}`).toBe(`400 ${c.field}`);
      const { errors } = await errorBody(new Response(r.text));
      const item = errors.find((e) => e.field === c.field);
      expect(item ? `${item.field} ${item.code}` : r.text).toBe(`${c.field} ${c.code}`);
      // The message names the field too (unknown fields by their own name).
      expect(item!.message).toContain(c.code === "unknown_field" ? c.field.replace(/^\[\d+\]\./, "") : c.field);
    }
    expect(await allIds(app)).toEqual([]);
  });

  test("errors anywhere in a large batch (validated in slices) are all reported by array index; nothing is stored", async () => {
    const app = await t.app();
    const batch: unknown[] = Array.from({ length: 2_500 }, (_, i) => ({ type: "open", event_id: `big-${i}`, rcpt_to: "a@example.org" }));
    batch[7] = { type: "open", event_id: "bad-7", rcpt_to: "nobody" };
    batch[2_222] = { type: "teleport" };
    const r = await post(app, batch);
    expect(r.status).toBe(400);
    const fields = (await errorBody(new Response(r.text))).errors.map((e) => `${e.field} ${e.code}`);
    expect(fields).toEqual(["[7].rcpt_to invalid_format", "[2222].type invalid_value"]);
    expect(await allIds(app)).toEqual([]);
    // Fixed, the same batch is stored whole.
    batch[7] = { type: "open", event_id: "big-7", rcpt_to: "a@example.org" };
    batch[2_222] = { type: "open", event_id: "big-2222", rcpt_to: "a@example.org" };
    expect((await accepted(app, batch)).accepted).toBe(2_500);
  }, 30_000);

  test("a body that is not JSON → 400 malformed_json; not sent as JSON → 415", async () => {
    const app = await t.app();
    const bad = await app.api("POST", "/events", { rawBody: "[{" });
    expect((await errorBody(bad)).errors[0]!.code).toBe("malformed_json");
    const plain = await app.api("POST", "/events", { rawBody: "[]", headers: { "content-type": "text/plain" } });
    expect(plain.status).toBe(415);
    expect((await errorBody(plain)).errors[0]!.code).toBe("unsupported_media_type");
    const charset = await app.api("POST", "/events", {
      rawBody: JSON.stringify([{ type: "open", rcpt_to: "a@example.org" }]),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(charset.status).toBe(200);
  });

  test("an empty array, an object or more than 10,000 events → 400, nothing stored", async () => {
    const app = await t.app();
    const empty = await post(app, []);
    expect(empty.status).toBe(400);
    expect((await errorBody(new Response(empty.text))).errors[0]!.code).toBe("too_small");

    const obj = await post(app, mixed[0]);
    expect(obj.status).toBe(400);
    expect((await errorBody(new Response(obj.text))).errors[0]!.code).toBe("invalid_type");

    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ type: "open", event_id: `bulk-${i}`, rcpt_to: "a@example.org" }));
    const big = await post(app, tooMany);
    expect(big.status).toBe(400);
    const item = (await errorBody(new Response(big.text))).errors[0]!;
    expect(item.code).toBe("too_big");
    expect(item.message).toContain("10000");
    expect(await allIds(app)).toEqual([]);

    // Exactly 10,000 is allowed.
    const ok = await accepted(app, tooMany.slice(0, 10_000));
    expect(ok.accepted).toBe(10_000);
  }, 30_000);
});

describe("GET /events", () => {
  async function seeded() {
    const app = await t.app();
    await accepted(app, mixed.slice(0, 6));
    return app;
  }

  test("newest first, with no cursor when everything fits", async () => {
    const app = await seeded();
    const page = await search(app);
    expect(page.results.map((e) => e.event_id)).toEqual(["cus-1", "clk-1", "opn-1", "bnc-1", "dlv-1", "inj-1"]);
    expect(page.next_cursor).toBeNull();
    expect(page.links.next).toBeNull();
  });

  test("filter by type, one or a comma list", async () => {
    const app = await seeded();
    expect((await search(app, "?type=bounce")).results.map((e) => e.event_id)).toEqual(["bnc-1"]);
    expect((await search(app, "?type=delivery,open,click")).results.map((e) => e.event_id)).toEqual(["clk-1", "opn-1", "dlv-1"]);
    expect((await search(app, "?type=expired")).results).toEqual([]);
  });

  test("filter by rcpt_to and by message_id, combinable with type", async () => {
    const app = await seeded();
    expect((await search(app, "?rcpt_to=bob@example.org")).results.map((e) => e.event_id)).toEqual(["bnc-1"]);
    expect((await search(app, `?rcpt_to=${encodeURIComponent("alice@example.org")}`)).results.map((e) => e.event_id)).toEqual([
      "clk-1",
      "opn-1",
      "dlv-1",
      "inj-1",
    ]);
    expect((await search(app, "?message_id=m1@example.com")).results.map((e) => e.event_id)).toEqual(["clk-1", "opn-1", "dlv-1", "inj-1"]);
    expect((await search(app, "?message_id=m1@example.com&type=open")).results.map((e) => e.event_id)).toEqual(["opn-1"]);
    expect((await search(app, "?rcpt_to=nobody@example.org")).results).toEqual([]);
  });

  test("since is inclusive, until exclusive", async () => {
    const app = await seeded();
    const ids = async (q: string) => (await search(app, q)).results.map((e) => e.event_id);
    expect(await ids(`?since=${at(2)}`)).toEqual(["cus-1", "clk-1", "opn-1", "bnc-1"]);
    expect(await ids(`?until=${at(2)}`)).toEqual(["dlv-1", "inj-1"]);
    expect(await ids(`?since=${at(1)}&until=${at(4)}`)).toEqual(["opn-1", "bnc-1", "dlv-1"]);
    expect(await ids(`?since=${encodeURIComponent("2026-03-01T14:02:00+02:00")}`)).toEqual(["cus-1", "clk-1", "opn-1", "bnc-1"]);
    expect(await ids(`?since=${at(60)}`)).toEqual([]);
  });

  test("limit + cursor pages through 25 events as 10, 10, 5 with no overlap and no gaps", async () => {
    const app = await t.app();
    // Some share a timestamp, so the order within one instant must come from the cursor too.
    const events = Array.from({ length: 25 }, (_, i) => ({
      type: "delivery",
      event_id: `page-${String(i).padStart(2, "0")}`,
      timestamp: at(Math.floor(i / 3)),
      rcpt_to: "p@example.org",
    }));
    await accepted(app, events);
    const pages: Page[] = [];
    let query = "?limit=10";
    for (let i = 0; i < 5; i++) {
      const page = await search(app, query);
      pages.push(page);
      if (!page.next_cursor) break;
      expect(page.links.next).toContain(`cursor=${page.next_cursor}`);
      query = `?limit=10&cursor=${page.next_cursor}`;
    }
    expect(pages.map((p) => p.results.length)).toEqual([10, 10, 5]);
    expect(pages[2]!.next_cursor).toBeNull();
    const seen = pages.flatMap((p) => p.results.map((e) => e.event_id));
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual(events.map((e) => e.event_id).sort());
    // Newest first across page boundaries.
    const times = pages.flatMap((p) => p.results.map((e) => Date.parse(e.timestamp)));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    // links.next is a path that can be followed as is, keeping the other parameters.
    const first = await search(app, "?limit=7&type=delivery");
    const next = await app.api("GET", first.links.next!.replace(/^\/api\/v1/, ""));
    const second = (await next.json()) as Page;
    expect(second.results).toHaveLength(7);
    expect(second.results.some((e) => first.results.some((f) => f.event_id === e.event_id))).toBe(false);
  });

  test("events stored after a page was read do not shift the next page", async () => {
    const app = await t.app();
    await accepted(
      app,
      Array.from({ length: 6 }, (_, i) => ({ type: "open", event_id: `old-${i}`, timestamp: at(i), rcpt_to: "a@example.org" })),
    );
    const first = await search(app, "?limit=3");
    await accepted(app, [{ type: "open", event_id: "newest", timestamp: at(100), rcpt_to: "a@example.org" }]);
    const second = await search(app, `?limit=3&cursor=${first.next_cursor}`);
    expect(first.results.map((e) => e.event_id)).toEqual(["old-5", "old-4", "old-3"]);
    expect(second.results.map((e) => e.event_id)).toEqual(["old-2", "old-1", "old-0"]);
  });

  test("bad query parameters → 400 naming the parameter", async () => {
    const app = await seeded();
    const cases: [string, string][] = [
      ["?limit=abc", "limit"],
      ["?limit=0", "limit"],
      ["?limit=1001", "limit"],
      ["?limit=2.5", "limit"],
      ["?since=yesterday", "since"],
      ["?until=2026-13-01T00:00:00Z", "until"],
      ["?type=delivery,teleport", "type"],
      ["?cursor=not-a-cursor", "cursor"],
      ["?colour=red", "colour"],
      [`?since=${at(5)}&until=${at(1)}`, "until"],
    ];
    for (const [query, field] of cases) {
      const res = await app.api("GET", `/events${query}`);
      const text = await res.clone().text();
      expect(`${res.status} ${query}`).toBe(`400 ${query}`);
      const { errors } = await errorBody(res);
      const item = errors.find((e) => e.field === field);
      expect(item ? item.field : text).toBe(field);
      expect(item!.message).toContain(field);
    }
  });
});
