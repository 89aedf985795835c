// The sfmc format against Salesforce's ENS pages: every event is shaped as the "Transactional
// Email Events" and "Engagement Email Events" pages document it (their attribute tables are
// copied below), and x-sfmc-ens-signature verifies the way the "Notification Signing" page
// tells a receiver to check it.
import { describe, expect, test } from "bun:test";
import { BOUNCE_CLASSES, EVENT_TYPES, type Event, type EventType } from "../../../src/events/schema.ts";
import { formatHeaders } from "../../../src/deliver/formats/index.ts";
import { newSfmcSignatureKey, SFMC_EVENTS, toSfmc } from "../../../src/deliver/formats/sfmc.ts";
import { sfmcReceiverAccepts } from "../../helpers/sfmc-receiver.ts";

const TS = "2026-11-23T13:07:09.123Z";
const base = { event_id: "01JDQ3ZK8X4Y0V9D7N2M5R6T8W", timestamp: TS, host: "mx1" };
const ev = (type: EventType, fields: Record<string, unknown> = {}) => ({ ...base, type, ...fields }) as Event;
const mail = {
  queue_id: "4BCD21C03F2",
  message_id: "20261123130709.4BCD2@example.com",
  mail_from: "news@example.com",
  rcpt_to: "alice@example.org",
  campaign_id: "makana-appt",
};

// SFMC's "Common Event Attributes" table, plus channel (in the engagement examples).
const COMMON = [
  "eventCategoryType",
  "timestampUTC",
  "compositeId",
  "composite",
  "definitionKey",
  "definitionId",
  "mid",
  "eid",
  "info",
  "channel",
];
const COMPOSITE = ["jobId", "batchId", "listId", "subscriberId", "emailId"];
// Each type's "Info Attributes" table.
const INFO: Record<string, string[]> = {
  "TransactionalSendEvents.EmailSent": ["to", "subscriberKey", "messageKey", "status", "renderedSubject"],
  "TransactionalSendEvents.EmailNotSent": ["to", "subscriberKey", "messageKey", "reason", "statusCode", "statusMessage"],
  "TransactionalSendEvents.EmailBounced": ["to", "subscriberKey", "messageKey", "bounceCode", "bounceMessage", "smtpReason"],
  "EngagementEvents.EmailOpen": ["ipAddress", "userAgent", "location"],
  "EngagementEvents.EmailClick": ["ipAddress", "jobUrlId", "contentLink", "impressionRegion", "userAgent", "location"],
  "EngagementEvents.EmailUnsubscribe": ["to", "domain", "unsubscribeDate", "unsubscribeMethod", "renderedSubject"],
};

/** One event of each type with what hookd knows about it. */
const FULL: Record<EventType, Event> = {
  injection: ev("injection", { ...mail, size: 2048 }),
  delivery: ev("delivery", { ...mail, dsn: "2.0.0", response: "250 2.0.0 OK", relay: "mx.example.org[203.0.113.5]:25" }),
  delay: ev("delay", { ...mail, dsn: "4.2.0", response: "451 4.2.0 try later" }),
  bounce: ev("bounce", { ...mail, dsn: "5.1.1", response: "550 5.1.1 User unknown", bounce_class: "unknown_user" }),
  expired: ev("expired", { ...mail, dsn: "4.4.7", response: "message expired", bounce_class: "soft" }),
  policy_rejection: ev("policy_rejection", {
    mail_from: mail.mail_from,
    rcpt_to: mail.rcpt_to,
    dsn: "5.7.1",
    response: "554 5.7.1 Client host blocked",
  }),
  out_of_band: ev("out_of_band", { ...mail, dsn: "5.1.1", response: "550 5.1.1 gone", bounce_class: "unknown_user" }),
  open: ev("open", { message_id: mail.message_id, rcpt_to: mail.rcpt_to, ip: "198.51.100.7", user_agent: "Mozilla/5.0" }),
  click: ev("click", {
    message_id: mail.message_id,
    rcpt_to: mail.rcpt_to,
    ip: "198.51.100.7",
    user_agent: "Mozilla/5.0",
    url: "https://example.com/offer",
  }),
  list_unsubscribe: ev("list_unsubscribe", {
    message_id: mail.message_id,
    rcpt_to: mail.rcpt_to,
    ip: "198.51.100.7",
    user_agent: "Mozilla/5.0",
  }),
  spam_complaint: ev("spam_complaint", { rcpt_to: mail.rcpt_to, feedback_type: "abuse" }),
  custom: ev("custom", { custom_type: "profile.updated", data: { city: "Oslo" } }),
};

describe("SFMC_EVENTS", () => {
  test("every hookd type that ENS has an email event for is mapped; the rest are not sent", () => {
    const mapped = Object.fromEntries(EVENT_TYPES.map((t) => [t, SFMC_EVENTS[t]]));
    expect(mapped).toEqual({
      injection: null,
      delivery: "TransactionalSendEvents.EmailSent",
      delay: null,
      bounce: "TransactionalSendEvents.EmailBounced",
      expired: "TransactionalSendEvents.EmailBounced",
      policy_rejection: "TransactionalSendEvents.EmailNotSent",
      out_of_band: "TransactionalSendEvents.EmailBounced",
      open: "EngagementEvents.EmailOpen",
      click: "EngagementEvents.EmailClick",
      list_unsubscribe: "EngagementEvents.EmailUnsubscribe",
      spam_complaint: null,
      custom: null,
    });
    // Every email event type ENS documents is reachable from some hookd type.
    expect(new Set<string | null>(Object.values(SFMC_EVENTS).filter(Boolean))).toEqual(new Set(Object.keys(INFO)));
    for (const t of EVENT_TYPES) expect(toSfmc(FULL[t]) === null, t).toBe(SFMC_EVENTS[t] === null);
  });
});

describe("toSfmc: shaped as ENS documents each type", () => {
  for (const type of EVENT_TYPES.filter((t) => SFMC_EVENTS[t] !== null)) {
    test(`${type} → ${SFMC_EVENTS[type]}: only documented attributes, with SFMC's value types`, () => {
      const out = toSfmc(FULL[type])!;
      const category = SFMC_EVENTS[type]!;
      expect(out.eventCategoryType).toBe(category);
      expect(Object.keys(out).filter((k) => !COMMON.includes(k))).toEqual([]);
      expect(out.timestampUTC).toBe(Date.parse(TS)); // a number: epoch milliseconds
      expect(out.compositeId).toBe(base.event_id);
      const composite = out.composite as Record<string, unknown>;
      expect(Object.keys(composite).filter((k) => !COMPOSITE.includes(k))).toEqual([]);
      for (const v of Object.values(composite)) expect(typeof v).toBe("string");
      const info = out.info as Record<string, unknown>;
      expect(Object.keys(info).filter((k) => !INFO[category]!.includes(k))).toEqual([]);
      if (typeof out.definitionKey !== "undefined") expect(typeof out.definitionKey).toBe("string");
    });
  }

  test("EmailBounced, from the fields of SFMC's own example payload", () => {
    const e = ev("bounce", {
      timestamp: new Date(1583849944000).toISOString(),
      message_id: "hJlMt8-fckKT4silLiVusA",
      rcpt_to: "mduarte.10166.0749@sf.exacttargettest.com",
      campaign_id: "makana-appt",
      dsn: "5.1.1",
      response: "5.1.1 (bad destination mailbox address) User Unknown",
      bounce_class: "unknown_user",
      metadata: { subscriberKey: "5bed12d54c74fd93ee1de599" },
    });
    expect(toSfmc(e)).toEqual({
      eventCategoryType: "TransactionalSendEvents.EmailBounced",
      timestampUTC: 1583849944000,
      compositeId: base.event_id,
      composite: { jobId: "hJlMt8-fckKT4silLiVusA", subscriberId: "mduarte.10166.0749@sf.exacttargettest.com" },
      definitionKey: "makana-appt",
      info: {
        to: "mduarte.10166.0749@sf.exacttargettest.com",
        subscriberKey: "5bed12d54c74fd93ee1de599",
        messageKey: "hJlMt8-fckKT4silLiVusA",
        bounceCode: "HARD",
        bounceMessage: "5.1.1 (bad destination mailbox address) User Unknown",
        smtpReason: "5.1.1",
      },
    });
  });

  test("EmailSent: status Sent; messageKey the application's own (metadata.messageKey) when it gave one", () => {
    expect(toSfmc(FULL.delivery)!.info as Record<string, unknown>).toEqual({
      to: mail.rcpt_to,
      subscriberKey: mail.rcpt_to,
      messageKey: mail.message_id,
      status: "Sent",
    });
    const own = toSfmc(ev("delivery", { ...mail, metadata: { messageKey: "f2b21aa0-fc16-11ea-9bc1-fbf804a5a66e" } }))!;
    expect((own.info as Record<string, unknown>).messageKey).toBe("f2b21aa0-fc16-11ea-9bc1-fbf804a5a66e");
    const noMessageId = toSfmc(ev("delivery", { queue_id: "4BCD21C03F2", rcpt_to: mail.rcpt_to }))!;
    expect((noMessageId.info as Record<string, unknown>).messageKey).toBe("4BCD21C03F2");
  });

  test("EmailNotSent: the reason, the SMTP code as statusCode", () => {
    expect(toSfmc(FULL.policy_rejection)!.info).toEqual({
      to: mail.rcpt_to,
      subscriberKey: mail.rcpt_to,
      reason: "554 5.7.1 Client host blocked",
      statusCode: "554",
      statusMessage: "Policy rejection",
    });
  });

  test("bounceCode: HARD only when the address failed permanently", () => {
    for (const bc of BOUNCE_CLASSES) {
      const hard = ["hard", "unknown_user", "unknown_domain", "undetermined"].includes(bc);
      const code = (e: Event) => (toSfmc(e)!.info as Record<string, unknown>).bounceCode;
      expect(code(ev("bounce", { ...mail, dsn: "5.0.0", bounce_class: bc })), bc).toBe(hard ? "HARD" : "SOFT");
      expect(code(ev("bounce", { ...mail, dsn: "4.0.0", bounce_class: bc })), `${bc} 4.x`).toBe("SOFT");
      expect(code(ev("expired", { ...mail, bounce_class: bc })), `expired ${bc}`).toBe("SOFT");
    }
  });

  test("opens and clicks as ENS sends them: NA definitions, channel email, an empty location", () => {
    expect(toSfmc(FULL.click)).toEqual({
      eventCategoryType: "EngagementEvents.EmailClick",
      timestampUTC: Date.parse(TS),
      compositeId: base.event_id,
      composite: { jobId: mail.message_id, subscriberId: mail.rcpt_to },
      definitionKey: "NA",
      definitionId: "NA",
      channel: "email",
      info: { ipAddress: "198.51.100.7", contentLink: "https://example.com/offer", userAgent: "Mozilla/5.0", location: {} },
    });
    expect(toSfmc(FULL.open)!.info).toEqual({ ipAddress: "198.51.100.7", userAgent: "Mozilla/5.0", location: {} });
  });

  test("EmailUnsubscribe: domain and date; Click from the listener, Reply from mail", () => {
    expect(toSfmc(FULL.list_unsubscribe)!.info).toEqual({
      to: mail.rcpt_to,
      domain: "example.org",
      unsubscribeDate: Date.parse(TS),
      unsubscribeMethod: "Click",
    });
    const byMail = toSfmc(ev("list_unsubscribe", { rcpt_to: "Bob@Example.NET" }))!.info as Record<string, unknown>;
    expect(byMail).toMatchObject({ domain: "example.net", unsubscribeMethod: "Reply" });
  });
});

describe("x-sfmc-ens-signature", () => {
  const body = new TextEncoder().encode(JSON.stringify([toSfmc(FULL.delivery)]));
  const input = { batchId: "msg_1", body, nowMs: Date.parse(TS) };

  test("keys look like SFMC's: 32 random bytes, base64, each new", () => {
    const a = newSfmcSignatureKey();
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a, "base64").length).toBe(32);
    expect(newSfmcSignatureKey()).not.toBe(a);
  });

  test("a receiver checking as SFMC's Notification Signing page says accepts it; another key, another body or no key do not", async () => {
    const key = newSfmcSignatureKey();
    const headers = formatHeaders("sfmc", { ...input, sfmcSignatureKey: key });
    expect(Object.keys(headers)).toEqual(["x-sfmc-ens-signature"]);
    const signature = headers["x-sfmc-ens-signature"]!;
    expect(await sfmcReceiverAccepts({ body, signature, signatureKey: key })).toBe(true);
    expect(await sfmcReceiverAccepts({ body, signature, signatureKey: newSfmcSignatureKey() })).toBe(false);
    const tampered = new TextEncoder().encode(new TextDecoder().decode(body).replace("Sent", "Sunk"));
    expect(await sfmcReceiverAccepts({ body: tampered, signature, signatureKey: key })).toBe(false);
    expect(formatHeaders("sfmc", { ...input, sfmcSignatureKey: null })).toEqual({});
  });
});
