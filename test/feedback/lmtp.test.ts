import { afterEach, describe, expect, test } from "bun:test";
import type { EventInput } from "../../src/events/schema.ts";
import { LmtpIntake, type LmtpOptions } from "../../src/feedback/lmtp.ts";
import { FeedbackStats } from "../../src/feedback/stats.ts";
import { verpAddress } from "../../src/feedback/unsubscribe.ts";
import { MemoryLookup, fixture } from "./helpers.ts";
import { LmtpClient } from "./lmtp-client.ts";

// The LMTP intake over real TCP on 127.0.0.1. The store is not built yet, so commit() is an
// injected function over an array, the way the store's will be called: all events or none.

const sent = { queue_id: "4BCD21C03F2", message_id: "orig-1@example.com", rcpt_to: "kijitora@cr.nyaan.jp" };

interface Harness {
  intake: LmtpIntake;
  port: number;
  stored: EventInput[];
  stats: FeedbackStats;
  lookup: MemoryLookup;
  failCommits: number;
  attempted: EventInput[][];
}

const running: LmtpIntake[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

async function start(opts: Partial<LmtpOptions> = {}): Promise<Harness> {
  const stats = new FeedbackStats(3);
  const lookup = new MemoryLookup([], new Map([["tok1", sent]]));
  const h = { stored: [] as EventInput[], stats, lookup, failCommits: 0, attempted: [] as EventInput[][] } as Harness;
  h.intake = new LmtpIntake({
    listenHost: "127.0.0.1",
    listenPort: 0,
    maxBytes: 256 * 1024,
    host: "mx1",
    lookup,
    stats,
    closeTimeoutMs: 200,
    commit: async (events) => {
      h.attempted.push(events);
      if (h.failCommits > 0) {
        h.failCommits--;
        throw new Error("disk I/O error");
      }
      h.stored.push(...events);
    },
    ...opts,
  });
  running.push(h.intake);
  h.port = (await h.intake.start()).port;
  return h;
}

describe("LMTP intake", () => {
  test("a DSN to a VERP address: 250 for each recipient once its event is committed", async () => {
    const h = await start();
    const c = await LmtpClient.connect(h.port);
    const r = await c.send(
      "",
      [verpAddress("tok1", "bounces.example.com"), "postmaster@bounces.example.com"],
      fixture("sisimai/lhost-postfix-57.eml"),
    );
    await c.quit();
    expect(r.mail).toStartWith("250");
    expect(r.rcpt.every((x) => x.startsWith("250"))).toBe(true);
    // LMTP: one reply per recipient after DATA.
    expect(r.data).toEqual(["250 2.6.0 dsn: 1 event", "250 2.6.0 dsn: 1 event"]);
    expect(h.stored).toHaveLength(1);
    expect(h.stored[0]).toMatchObject({
      type: "out_of_band",
      rcpt_to: "kijitora@cr.nyaan.jp",
      queue_id: "4BCD21C03F2",
      message_id: "orig-1@example.com",
      dsn: "5.2.1",
    });
    expect(h.stats.status().counters).toMatchObject({ byKind: { dsn: 1 }, matched: { verp: 1 }, events: 1 });
  });

  test("over the size limit: 552 for each recipient, nothing committed, counted", async () => {
    const h = await start({ maxBytes: 4096 });
    const big = new TextEncoder().encode(`From: MAILER-DAEMON@x\r\nSubject: big\r\n\r\n${"x".repeat(80)}\r\n`.repeat(200));
    const c = await LmtpClient.connect(h.port);
    const r = await c.send("", ["a@bounces.example.com", "b@bounces.example.com"], big);
    // The connection stays usable: the next message is read.
    const next = await c.send("", ["a@bounces.example.com"], fixture("sisimai/lhost-qmail-01.eml"));
    await c.quit();
    expect(r.data).toHaveLength(2);
    for (const line of r.data) expect(line).toStartWith("552 5.3.4 ");
    expect(next.data).toEqual(["250 2.6.0 plain_bounce: 1 event"]);
    expect(h.attempted).toHaveLength(1);
    expect(h.stats.status().counters.tooLarge).toBe(1);
  });

  test("a commit that throws: 451 4.3.0, and the MTA's retry stores the same events once", async () => {
    const h = await start();
    h.failCommits = 1;
    const msg = fixture("sisimai/arf-16.eml");
    const c = await LmtpClient.connect(h.port);
    const first = await c.send("fbl@isp.example", ["fbl@bounces.example.com"], msg);
    expect(first.data).toHaveLength(1);
    expect(first.data[0]).toStartWith("451 4.3.0 ");
    expect(h.stored).toEqual([]);
    const retry = await c.send("fbl@isp.example", ["fbl@bounces.example.com"], msg);
    await c.quit();
    expect(retry.data).toEqual(["250 2.6.0 complaint: 7 events"]);
    // Nothing lost, and the retry carries the ids of the refused attempt: a store that had in
    // fact written the first time would drop the second copy.
    expect(h.stored).toHaveLength(7);
    expect(h.attempted[1]!.map((e) => e.event_id)).toEqual(h.attempted[0]!.map((e) => e.event_id));
    expect(h.stats.status().counters).toMatchObject({ commitFailures: 1, byKind: { complaint: 1 }, events: 7 });
  });

  test("a store lookup that fails is a 451 too, never a bounce", async () => {
    const h = await start();
    h.lookup.failWith = new Error("database is locked");
    const c = await LmtpClient.connect(h.port);
    const r = await c.send("", ["x@bounces.example.com"], fixture("sisimai/rhost-google-06.eml"));
    await c.quit();
    expect(r.data[0]).toStartWith("451 4.3.0 ");
    expect(h.stored).toEqual([]);
  });

  test("mail that is no report: 250 (never bounced), counted, and kept as a sample", async () => {
    const h = await start();
    const c = await LmtpClient.connect(h.port);
    const r = await c.send("alice@example.org", ["bounces@bounces.example.com"], fixture("sisimai/is-not-bounce-01.eml"));
    const junk = await c.send("", ["bounces@bounces.example.com"], new TextEncoder().encode("\u0000\u0001 not even headers\r\n"));
    await c.quit();
    expect(r.data).toEqual(["250 2.6.0 not_a_report: 0 events"]);
    expect(junk.data).toEqual(["250 2.6.0 not_a_report: 0 events"]);
    expect(h.attempted).toEqual([]);
    const status = h.stats.status();
    expect(status.counters.byKind.not_a_report).toBe(2);
    expect(status.unparsed.map((s) => [s.reason, s.mailFrom, s.rcptTo])).toEqual([
      ["not a bounce, complaint or unsubscribe mail", "alice@example.org", ["bounces@bounces.example.com"]],
      // A null sender makes it look like a bounce, but no pattern reads it.
      ["bounce in a format no pattern reads", "", ["bounces@bounces.example.com"]],
    ]);
    expect(status.unparsed[0]!.excerpt).toContain("From: Kijitora <shironeko@example.com>");
  });

  test("the ring of unparsed samples keeps the newest, bounded", async () => {
    const h = await start();
    const c = await LmtpClient.connect(h.port);
    for (let i = 0; i < 5; i++)
      await c.send("", ["b@bounces.example.com"], new TextEncoder().encode(`Subject: note ${i}\r\n\r\nhello\r\n`));
    await c.quit();
    const status = h.stats.status();
    expect(status.counters.byKind.not_a_report).toBe(5);
    expect(status.unparsed.map((s) => s.subject)).toEqual(["note 2", "note 3", "note 4"]);
  });

  test("several clients at once each get their own answers", async () => {
    const h = await start();
    const files = ["sisimai/lhost-exim-02.eml", "sisimai/lhost-gmail-01.eml", "rfc/rfc3464-multi-recipient-dsn.eml", "sisimai/arf-02.eml"];
    const results = await Promise.all(
      files.map(async (f) => {
        const c = await LmtpClient.connect(h.port);
        const r = await c.send("", ["x@bounces.example.com"], fixture(f));
        await c.quit();
        return r.data[0];
      }),
    );
    expect(results).toEqual([
      "250 2.6.0 plain_bounce: 2 events",
      "250 2.6.0 plain_bounce: 1 event",
      "250 2.6.0 dsn: 3 events",
      "250 2.6.0 complaint: 1 event",
    ]);
    expect(h.stored).toHaveLength(7);
  });

  test("stop() closes the listener: no new connection is accepted", async () => {
    const h = await start();
    await h.intake.stop();
    await expect(LmtpClient.connect(h.port)).rejects.toThrow();
  });
});
