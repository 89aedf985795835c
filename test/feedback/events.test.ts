import { describe, expect, test } from "bun:test";
import { EventInput } from "../../src/events/schema.ts";
import { feedbackEvents } from "../../src/feedback/events.ts";
import { type FeedbackLookup, matchReport } from "../../src/feedback/match.ts";
import { parseFeedback } from "../../src/feedback/report.ts";
import type { Envelope } from "../../src/feedback/types.ts";
import { unsubscribeAddress, verpAddress } from "../../src/feedback/unsubscribe.ts";
import { BOUNCE, FBL, MemoryLookup, fixture } from "./helpers.ts";

const CTX = { host: "mx1", receivedAt: Date.parse("2026-01-02T03:04:05Z") };

async function eventsOf(
  path: string,
  envelope: Envelope = BOUNCE,
  lookup: FeedbackLookup = new MemoryLookup(),
  ctx = CTX,
  isLocalMta?: (n: string) => boolean,
) {
  const report = await parseFeedback(fixture(path), envelope);
  const match = await matchReport(report, lookup, { isLocalMta });
  const events = feedbackEvents(report, match, ctx);
  // Every event built must be one the API and store accept.
  for (const e of events) expect(EventInput.safeParse(e).success).toBe(true);
  return events;
}

describe("events from DSNs", () => {
  test("failed → out_of_band, delayed → delay, with dsn, response, bounce_class, relay", async () => {
    const events = await eventsOf("rfc/rfc3464-multi-recipient-dsn.eml");
    expect(events.map((e) => [e.type, e.rcpt_to, "dsn" in e ? e.dsn : undefined])).toEqual([
      ["out_of_band", "arathib@vnet.ibm.com", "5.0.0"],
      ["delay", "johnh@hpnjld.njd.hp.com", "4.0.0"],
      ["out_of_band", "wsnell@sdcc13.ucsd.edu", "5.0.0"],
    ]);
    expect(events[2]).toMatchObject({ response: "550 user unknown", bounce_class: "unknown_user", relay: "sdcc13.ucsd.edu", host: "mx1" });
  });

  test("the recipient's Last-Attempt-Date is the event time; without dates, the time it arrived", async () => {
    const [e] = await eventsOf("rfc/rfc3464-simple-dsn.eml");
    expect(e!.timestamp).toBe("1994-07-07T21:15:49.000Z");
    const [d] = await eventsOf("rfc/rfc3464-multi-recipient-dsn.eml");
    // This one has a Date header (Fri, 8 Jul 1994 09:21:47 -0400) and no Last-Attempt-Date.
    expect(d!.timestamp).toBe("1994-07-08T13:21:47.000Z");
  });

  test("matched by VERP: the original's queue id, Message-ID, recipient and campaign fields", async () => {
    const sent = {
      queue_id: "4BCD21C03F2",
      message_id: "orig-1@example.com",
      rcpt_to: "kijitora@cr.nyaan.jp",
      mail_from: "news@example.com",
      campaign_id: "spring",
      tags: ["newsletter"],
      metadata: { customer: "42" },
    };
    const env = { mailFrom: "", rcptTo: [verpAddress("tok1", "bounces.example.com")] };
    const [e] = await eventsOf("sisimai/lhost-postfix-57.eml", env, new MemoryLookup([], new Map([["tok1", sent]])));
    expect(e).toMatchObject({
      type: "out_of_band",
      ...sent,
      dsn: "5.2.1",
      response: "550 5.2.1 <kijitora@cr.nyaan.jp>... User Unknown",
      bounce_class: "unknown_user",
      relay: "mx.cr.nyaan.jp",
    });
  });

  test("matched by Message-ID: the candidate with the DSN's Original-Recipient", async () => {
    const mid = "222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp";
    const lookup = new MemoryLookup([
      { message_id: mid, queue_id: "Q1", rcpt_to: "someone@example.org" },
      { message_id: mid, queue_id: "Q1", rcpt_to: "michitsuna@example.org", campaign_id: "c7" },
    ]);
    const [e] = await eventsOf("sisimai/rhost-google-06.eml", BOUNCE, lookup);
    expect(e).toMatchObject({
      type: "out_of_band",
      rcpt_to: "michitsuna@example.org",
      queue_id: "Q1",
      message_id: mid,
      campaign_id: "c7",
      dsn: "5.7.25",
      bounce_class: "auth",
    });
  });

  test("unmatched: what the report says (returned Message-ID, Original-Recipient), no queue id", async () => {
    const [e] = await eventsOf("sisimai/lhost-postfix-01.eml");
    expect(e).toMatchObject({ type: "out_of_band", rcpt_to: "kijitora@example.org", dsn: "5.1.1", bounce_class: "unknown_user" });
    expect(e).not.toHaveProperty("queue_id");
  });

  test("a DSN from our own MTA gives no event: the MTA log already gave its bounce", async () => {
    expect(await eventsOf("sisimai/lhost-postfix-57.eml", BOUNCE, new MemoryLookup(), CTX, (n) => n === "rokujo.cr.nyaan.jp")).toEqual([]);
  });

  test("plain bounces: out_of_band with the pattern's class; delay notices → delay", async () => {
    const [q] = await eventsOf("sisimai/lhost-qmail-01.eml");
    expect(q).toMatchObject({
      type: "out_of_band",
      rcpt_to: "kijitora@example.ne.jp",
      dsn: "5.5.0",
      bounce_class: "unknown_user",
      message_id: "000000000.9999999999999.JavaMail.postmaster@mailhub",
    });
    const [g] = await eventsOf("sisimai/lhost-gmail-06.eml");
    expect(g).toMatchObject({ type: "delay", rcpt_to: "kijitora@example.jp", dsn: "4.2.2", bounce_class: "quota" });
  });
});

describe("events from complaints and unsubscribe mail", () => {
  test("abuse → spam_complaint with feedback_type and the returned Message-ID", async () => {
    const [e] = await eventsOf("rfc/rfc5965-extended.eml", FBL);
    expect(e).toMatchObject({
      type: "spam_complaint",
      rcpt_to: "user@example.com",
      feedback_type: "abuse",
      message_id: "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
      timestamp: "2005-03-08T21:40:36.000Z",
    });
  });

  test("no recipient in the report: the store's only recipient of the message; none known → no event", async () => {
    expect(await eventsOf("rfc/rfc5965-minimal.eml", FBL)).toEqual([]);
    const lookup = new MemoryLookup([
      { message_id: "8787KJKJ3K4J3K4J3K4J3.mail@example.net", queue_id: "Q9", rcpt_to: "victim@example.net" },
    ]);
    const [e] = await eventsOf("rfc/rfc5965-minimal.eml", FBL, lookup);
    expect(e).toMatchObject({ type: "spam_complaint", rcpt_to: "victim@example.net", queue_id: "Q9", feedback_type: "abuse" });
  });

  test("one complaint per Original-Rcpt-To", async () => {
    const events = await eventsOf("sisimai/arf-16.eml", FBL);
    expect(events.map((e) => e.rcpt_to)).toEqual([
      "kijitora@example.com",
      "sironeko@example.com",
      "mikeneko@example.com",
      "sabatora@example.com",
      "sirokiji@example.org",
      "kuroneko@example.com",
      "sabineko@example.com",
    ]);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(7);
  });

  test("auth-failure (DMARC) is no complaint; opt-out is an unsubscribe; JMRP is a complaint", async () => {
    expect(await eventsOf("sisimai/arf-18.eml", FBL)).toEqual([]);
    const lookup = new MemoryLookup([{ message_id: "0000000000000000000000000@example.net", rcpt_to: "kuro@example.net" }]);
    expect((await eventsOf("sisimai/arf-12.eml", FBL, lookup)).map((e) => [e.type, e.rcpt_to])).toEqual([
      ["list_unsubscribe", "kuro@example.net"],
    ]);
    expect((await eventsOf("sisimai/arf-22.eml", FBL)).map((e) => [e.type, e.rcpt_to])).toEqual([
      ["spam_complaint", "kijitora@example.com"],
    ]);
  });

  test("a feedback type hookd does not know is a complaint, even one named like an Object method", async () => {
    for (const type of ["dmarc-x", "toString", "constructor"]) {
      const raw = new TextEncoder().encode(
        [
          "From: fbl@isp.example",
          'Content-Type: multipart/report; report-type=feedback-report; boundary="f"',
          "",
          "--f",
          "Content-Type: message/feedback-report",
          "",
          `Feedback-Type: ${type}`,
          "Original-Rcpt-To: a@example.org",
          "--f--",
          "",
        ].join("\r\n"),
      );
      const report = await parseFeedback(raw, FBL);
      const events = feedbackEvents(report, await matchReport(report, new MemoryLookup()), CTX);
      expect(events.map((e) => [e.type, e.rcpt_to, "feedback_type" in e ? e.feedback_type : undefined])).toEqual([
        ["spam_complaint", "a@example.org", type.toLowerCase()],
      ]);
    }
  });

  test("mail to the unsubscribe address → list_unsubscribe for the token's recipient; a forged token → nothing", async () => {
    const env = { mailFrom: "example@icloud.com", rcptTo: [unsubscribeAddress("u1", "bounces.example.com")] };
    const sent = { message_id: "orig-2@example.com", rcpt_to: "example@icloud.com", campaign_id: "may" };
    const [e] = await eventsOf("sisimai/arf-26.eml", env, new MemoryLookup([], new Map(), new Map([["u1", sent]])));
    expect(e).toMatchObject({ type: "list_unsubscribe", ...sent, timestamp: "2024-05-02T17:48:55.000Z" });
    expect(await eventsOf("sisimai/arf-26.eml", env, new MemoryLookup())).toEqual([]);
  });

  test("two different mails to one unsubscribe address are one unsubscribe: the id comes from the token", async () => {
    const sent = { message_id: "orig-2@example.com", rcpt_to: "example@icloud.com" };
    const lookup = new MemoryLookup([], new Map(), new Map([["u1", sent]]));
    const mail = (id: string) =>
      new TextEncoder().encode(
        [
          "From: example@icloud.com",
          "To: unsubscribe+u1@bounces.example.com",
          `Message-ID: <${id}>`,
          "Subject: unsubscribe",
          "",
          "please",
        ].join("\r\n"),
      );
    const env = { mailFrom: "example@icloud.com", rcptTo: [unsubscribeAddress("u1", "bounces.example.com")] };
    const ids = [];
    for (const id of ["one@icloud.com", "two@icloud.com"]) {
      const report = await parseFeedback(mail(id), env);
      ids.push(...feedbackEvents(report, await matchReport(report, lookup), CTX).map((e) => e.event_id));
    }
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]!);
  });
});

describe("event ids", () => {
  const files = ["rfc/rfc3464-multi-recipient-dsn.eml", "sisimai/lhost-qmail-02.eml", "sisimai/arf-16.eml", "sisimai/lhost-postfix-57.eml"];

  test("the same report parsed twice gives the same ids, whatever the clock and whatever the store knew", async () => {
    for (const f of files) {
      const first = await eventsOf(f, BOUNCE, new MemoryLookup(), CTX);
      const lookup = new MemoryLookup([
        { message_id: "44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp", queue_id: "Q", rcpt_to: "kijitora@cr.nyaan.jp" },
      ]);
      const later = await eventsOf(f, BOUNCE, lookup, { host: "mx2", receivedAt: CTX.receivedAt + 3_600_000 });
      expect(later.map((e) => e.event_id)).toEqual(first.map((e) => e.event_id));
      expect(new Set(first.map((e) => e.event_id)).size).toBe(first.length);
    }
  });

  test("different reports, or the same recipient in two reports, give different ids", async () => {
    const a = await eventsOf("sisimai/lhost-exim-02.eml");
    const b = await eventsOf("sisimai/lhost-mailru-01.eml");
    const all = [...a, ...b].map((e) => e.event_id);
    expect(new Set(all).size).toBe(all.length);
  });

  test("ids are time-prefixed like log event ids (26 lower-case base32 characters)", async () => {
    for (const e of await eventsOf("sisimai/lhost-postfix-02.eml")) expect(e.event_id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
  });
});
