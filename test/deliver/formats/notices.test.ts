// Notices (mail the MTA generated about another message) through the real store and batcher:
// hookd's format sends them unless filter.notices is false; SendGrid's and SparkPost's never
// do, as those providers send none. Null-sender mail that is not a notice is plain mail.
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { cutBatches } from "../../../src/deliver/batcher.ts";
import { compileFilter, type BatchLimits } from "../../../src/deliver/subscription.ts";
import { encodeBody } from "../../../src/deliver/formats/index.ts";
import { toSendGrid } from "../../../src/deliver/formats/sendgrid.ts";
import { toSparkPost } from "../../../src/deliver/formats/sparkpost.ts";
import { type Event, EventInput } from "../../../src/events/schema.ts";
import { openStore } from "../../../src/store/open.ts";
import type { Store } from "../../../src/store/driver.ts";
import { getWebhook, insertWebhook } from "../../../src/store/sqlite/webhooks.ts";
import type { WebhookFilter, WebhookFormat } from "../../../src/webhooks/model.ts";
import { startTestApp, tempDir } from "../../helpers/hookd.ts";
import { startReceiver } from "../../helpers/receiver.ts";
import { sqliteOf } from "../../../src/store/sqlite/driver.ts";
import { storeEvents } from "../../helpers/store.ts";

const T = Date.parse("2026-11-23T13:07:09.000Z");
const at = (s: number) => new Date(T + s * 1000).toISOString();
const NOTICE = { kind: "bounce", of_queue_id: "4BCD21C03F2", of_message_id: "orig@example.com" } as const;

/** A bounce, the non-delivery notice it caused (injection and delivery), and a relayed read receipt from <>. */
const EVENTS: Event[] = [
  {
    event_id: "orig-bounce",
    type: "bounce",
    timestamp: at(0),
    host: "mx1",
    queue_id: "4BCD21C03F2",
    message_id: "orig@example.com",
    mail_from: "app@example.com",
    rcpt_to: "gone@example.org",
    dsn: "5.1.1",
  },
  {
    event_id: "notice-inj",
    type: "injection",
    timestamp: at(1),
    host: "mx1",
    queue_id: "9F00A1C0400",
    mail_from: "",
    rcpt_to: "app@example.com",
    notice: NOTICE,
  },
  {
    event_id: "notice-dlv",
    type: "delivery",
    timestamp: at(2),
    host: "mx1",
    queue_id: "9F00A1C0400",
    mail_from: "",
    rcpt_to: "app@example.com",
    dsn: "2.0.0",
    notice: NOTICE,
  },
  {
    event_id: "receipt-dlv",
    type: "delivery",
    timestamp: at(3),
    host: "mx1",
    queue_id: "8D1B2C3D4E",
    mail_from: "",
    rcpt_to: "reader@example.org",
    dsn: "2.0.0",
  },
];

const LIMITS: BatchLimits = { maxEvents: 100, maxBytes: 1_000_000, maxWaitMs: 0 };

/** Every event id the webhook's batches hold, in order, as each format encodes its batch. */
function sent(store: Store, id: string, format: WebhookFormat): string[] {
  const rows = sqliteOf(store)
    .query(
      "SELECT bb.body AS body FROM batches b JOIN batch_bodies bb ON bb.id = b.body_id WHERE b.webhook_id = ? ORDER BY b.created_at, b.id",
    )
    .all(id) as { body: Uint8Array }[];
  const items = rows.flatMap((r) => JSON.parse(new TextDecoder().decode(r.body)) as Record<string, unknown>[]);
  if (format === "sendgrid") return items.map((i) => i.sg_event_id as string);
  if (format === "sparkpost") return items.map((i) => (Object.values(i.msys as object)[0] as { event_id: string }).event_id);
  return items.map((i) => i.event_id as string);
}

describe("notices through the store and the batcher", () => {
  const cases: { id: string; format: WebhookFormat; filter: WebhookFilter | null; want: string[] }[] = [
    { id: "hookd", format: "hookd", filter: null, want: ["orig-bounce", "notice-inj", "notice-dlv", "receipt-dlv"] },
    {
      id: "hookd-notices-true",
      format: "hookd",
      filter: { notices: true },
      want: ["orig-bounce", "notice-inj", "notice-dlv", "receipt-dlv"],
    },
    { id: "hookd-no-notices", format: "hookd", filter: { notices: false }, want: ["orig-bounce", "receipt-dlv"] },
    { id: "sendgrid", format: "sendgrid", filter: null, want: ["orig-bounce", "receipt-dlv"] },
    { id: "sparkpost", format: "sparkpost", filter: { notices: true }, want: ["orig-bounce", "receipt-dlv"] },
  ];

  test("each webhook's batches hold exactly what its format and filter let through", async () => {
    for (const e of EVENTS) expect(EventInput.safeParse(e).success).toBe(true);
    const store = openStore(path.join(tempDir(), "notices.db"));
    try {
      for (const c of cases) {
        await store.webhooks.insert({
          id: c.id,
          name: c.id,
          target: "http://127.0.0.1:9/",
          events: ["*"],
          filter: c.filter,
          format: c.format,
          secret: "whsec_AAAA",
          createdAt: 0,
          updatedAt: 0,
        });
      }
      await storeEvents(store, EVENTS, "/var/log/mail.log", T);
      // The kind is a column of its own: the batcher's first pass never reads a body.
      const col = sqliteOf(store).query("SELECT event_id, notice FROM events ORDER BY seq").all();
      expect(col).toEqual([
        { event_id: "orig-bounce", notice: null },
        { event_id: "notice-inj", notice: "bounce" },
        { event_id: "notice-dlv", notice: "bounce" },
        { event_id: "receipt-dlv", notice: null },
      ]);
      for (const c of cases) {
        const w = (await store.webhooks.get(c.id))!;
        await cutBatches(store, w, LIMITS, T + 10_000, { allowPartial: true, maxBatches: 10, force: true });
        expect({ id: c.id, sent: sent(store, c.id, c.format) }).toEqual({ id: c.id, sent: c.want });
      }
    } finally {
      store.close();
    }
  });

  test("compileFilter: notices pass for hookd unless filter.notices is false, never for a provider format", () => {
    const row = (notice: string | null) => ({
      type: "delivery",
      host: "mx1",
      mail_from: "",
      rcpt_to: "a@example.com",
      custom_type: null,
      notice,
    });
    for (const kind of ["bounce", "delay", "success"]) {
      expect(compileFilter(["*"], null)(row(kind))).toBe(true);
      expect(compileFilter(["*"], { notices: false })(row(kind))).toBe(false);
      expect(compileFilter(["delivery"], { notices: true }, "sendgrid")(row(kind))).toBe(false);
      expect(compileFilter(["delivery"], null, "sparkpost")(row(kind))).toBe(false);
    }
    // Null-sender mail without a notice kind is no notice: every format sends it.
    for (const format of ["hookd", "sendgrid", "sparkpost"] as const)
      expect(compileFilter(["*"], { notices: false }, format)(row(null))).toBe(true);
    // notices: false combines with the other filters.
    expect(compileFilter(["*"], { notices: false, rcpt_domains: ["example.com"] })(row(null))).toBe(true);
    expect(compileFilter(["*"], { notices: false, rcpt_domains: ["example.net"] })(row(null))).toBe(false);
  });

  test("the provider mappers drop a notice even when handed one (samples, replays of old batches)", () => {
    const [, inj, dlv, receipt] = EVENTS as [Event, Event, Event, Event];
    expect(toSendGrid(dlv)).toBeNull();
    expect(toSparkPost(inj)).toBeNull();
    expect(toSendGrid(receipt)).toMatchObject({ event: "delivered", email: "reader@example.org" });
    expect(
      JSON.parse(
        new TextDecoder().decode(
          encodeBody(
            "sparkpost",
            EVENTS.map((e) => JSON.stringify(e)),
          ),
        ),
      ),
    ).toHaveLength(2);
    const hookd = JSON.parse(
      new TextDecoder().decode(
        encodeBody(
          "hookd",
          EVENTS.map((e) => JSON.stringify(e)),
        ),
      ),
    ) as Event[];
    expect(hookd.map((e) => (e as { notice?: unknown }).notice ?? null)).toEqual([null, NOTICE, NOTICE, null]);
  });
});

describe("filter.notices through the API", () => {
  test("a webhook created with filter {notices: false} gets the mail and not the notices; one without gets both; a bad value is a 400", async () => {
    const rx = await startReceiver();
    const app = await startTestApp({ delivery: { batch_max_wait: 50 } });
    try {
      const create = async (name: string, filter: unknown) => {
        const res = await app.api("POST", "/webhooks", {
          body: { name, target: `${rx.url}/${name}`, events: ["*"], verification: "none", ...(filter === undefined ? {} : { filter }) },
        });
        return { status: res.status, body: (await res.json()) as { results?: { id: string }; errors?: { field?: string }[] } };
      };
      const bad = await create("bad", { notices: "no" });
      expect(bad.status).toBe(400);
      expect(bad.body.errors?.[0]?.field).toContain("notices");
      expect((await create("quiet", { notices: false })).status).toBe(201);
      expect((await create("all", undefined)).status).toBe(201);
      const got = await app.api("GET", "/webhooks");
      const hooks = ((await got.json()) as { results: { name: string; filter: unknown }[] }).results;
      expect(hooks.find((h) => h.name === "quiet")?.filter).toEqual({ notices: false });

      const post = await app.api("POST", "/events", { body: EVENTS.map(({ event_id, ...e }) => ({ ...e, event_id: `api-${event_id}` })) });
      expect(post.status).toBe(200);
      const ids = (path: string) => rx.requests.filter((r) => r.path === path).flatMap((r) => (r.json() as Event[]).map((e) => e.event_id));
      await rx.waitFor(() => ids("/all").length === 4 && ids("/quiet").length === 2, 10_000);
      expect(ids("/quiet")).toEqual(["api-orig-bounce", "api-receipt-dlv"]);
      expect(ids("/all")).toEqual(["api-orig-bounce", "api-notice-inj", "api-notice-dlv", "api-receipt-dlv"]);
    } finally {
      await app.stop();
      await rx.stop();
    }
  }, 20_000);
});
