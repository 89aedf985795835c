import { describe, expect, test } from "bun:test";
import { BOUNCE_CLASSES, EVENT_TYPES, type Event, type EventType } from "../../../src/events/schema.ts";
import { sampleEvent } from "../../../src/events/samples.ts";
import { SPARKPOST_BOUNCE_CLASSES, SPARKPOST_EVENTS, toSparkPost } from "../../../src/deliver/formats/sparkpost.ts";

const TS = "2026-11-23T13:07:09.123Z";
const UNIX = "1795439229";
const base = { event_id: "01JDQ3ZK8X4Y0V9D7N2M5R6T8W", timestamp: TS, host: "mx1" };
const ev = (type: EventType, fields: Record<string, unknown> = {}) => ({ ...base, type, ...fields }) as Event;
/** The inner object, checking the wrapper on the way. */
const inner = (e: Event, wrapper: string) => {
  const out = toSparkPost(e)!;
  expect(Object.keys(out)).toEqual(["msys"]);
  expect(Object.keys(out.msys)).toEqual([wrapper]);
  return (out.msys as Record<string, Record<string, unknown>>)[wrapper]!;
};

const mail = {
  queue_id: "4BCD21C03F2",
  message_id: "20261123130709.4BCD2@example.com",
  mail_from: "news@example.com",
  rcpt_to: "Alice@Example.org",
  orig_rcpt: "sales@example.org",
  relay: "mx.example.org[203.0.113.5]:25",
  delay_s: 1.2,
  size: 2048,
  nrcpt: 1,
  attempt: 3,
};
const ids = {
  event_id: base.event_id,
  timestamp: UNIX,
  rcpt_to: "alice@example.org",
  raw_rcpt_to: "Alice@Example.org",
  routing_domain: "example.org",
  msg_from: "news@example.com",
  message_id: mail.message_id,
  num_retries: "2",
  queue_time: "1200",
  injection_time: "2026-11-23T13:07:07.923+00:00",
  msg_size: "2048",
  ip_address: "203.0.113.5",
  delv_method: "esmtp",
};
const engagement = {
  message_id: mail.message_id,
  rcpt_to: "Alice@Example.org",
  user_agent: "Mozilla/5.0",
  ip: "198.51.100.7",
  campaign_id: "spring",
};
const engaged = {
  event_id: base.event_id,
  timestamp: UNIX,
  rcpt_to: "alice@example.org",
  raw_rcpt_to: "Alice@Example.org",
  routing_domain: "example.org",
  message_id: mail.message_id,
  campaign_id: "spring",
  user_agent: "Mozilla/5.0",
  ip_address: "198.51.100.7",
};

describe("toSparkPost: every event type", () => {
  test("injection → message_event injection, client_ip as remote_addr", () => {
    const { relay: _r, delay_s: _d, attempt: _a, ...injected } = mail;
    expect(inner(ev("injection", { ...injected, client_ip: "192.0.2.10" }), "message_event")).toEqual({
      type: "injection",
      event_id: base.event_id,
      timestamp: UNIX,
      rcpt_to: "alice@example.org",
      raw_rcpt_to: "Alice@Example.org",
      routing_domain: "example.org",
      msg_from: "news@example.com",
      message_id: mail.message_id,
      injection_time: "2026-11-23T13:07:09.123+00:00",
      msg_size: "2048",
      remote_addr: "192.0.2.10",
    });
  });

  test("delivery → message_event delivery, no reason fields", () => {
    expect(inner(ev("delivery", { ...mail, dsn: "2.0.0", response: "250 2.0.0 OK" }), "message_event")).toEqual({
      type: "delivery",
      ...ids,
    });
  });

  test("delay → message_event delay with raw_reason, reason, error_code, bounce_class", () => {
    const e = ev("delay", { ...mail, dsn: "4.2.2", response: "452 4.2.2 Mailbox full", bounce_class: "quota" });
    expect(inner(e, "message_event")).toEqual({
      type: "delay",
      ...ids,
      raw_reason: "452 4.2.2 Mailbox full",
      reason: "452 4.2.2 Mailbox full",
      error_code: "452",
      bounce_class: "22",
    });
  });

  test("bounce → message_event bounce; reason redacts IPv4 addresses like SparkPost", () => {
    const response = "550 5.7.1 MAIL REFUSED - IP (17.99.99.99) is in black list";
    expect(inner(ev("bounce", { ...mail, dsn: "5.7.1", response, bounce_class: "block" }), "message_event")).toEqual({
      type: "bounce",
      ...ids,
      raw_reason: response,
      reason: "550 5.7.1 MAIL REFUSED - IP (a.b.c.d) is in black list",
      error_code: "550",
      bounce_class: "50",
    });
  });

  test("expired → bounce with bounce_class 24 and SparkPost's own reason when none was logged", () => {
    const { relay: _r, ...queued } = mail;
    const { ip_address: _i, delv_method: _m, ...noRelay } = ids;
    expect(inner(ev("expired", { ...queued, delay_s: 432000 }), "message_event")).toEqual({
      type: "bounce",
      ...noRelay,
      queue_time: "432000000",
      injection_time: "2026-11-18T13:07:09.123+00:00",
      raw_reason: "554 5.4.7 [internal] exceeded max time without delivery",
      reason: "554 5.4.7 [internal] exceeded max time without delivery",
      error_code: "554",
      bounce_class: "24",
    });
    expect(
      inner(ev("expired", { rcpt_to: "a@example.org", bounce_class: "soft", response: "message expired" }), "message_event"),
    ).toMatchObject({
      bounce_class: "24",
      raw_reason: "message expired",
    });
    expect(inner(ev("expired", { rcpt_to: "a@example.org", bounce_class: "spam" }), "message_event").bounce_class).toBe("51");
  });

  test("policy_rejection → message_event policy_rejection, bounce_class 25 (Admin Failure) as SparkPost sends", () => {
    const e = ev("policy_rejection", {
      mail_from: "x@example.net",
      rcpt_to: "a@example.org",
      client_ip: "192.0.2.10",
      dsn: "5.7.1",
      response: "554 5.7.1 Client host [192.0.2.10] blocked",
      bounce_class: "block",
    });
    expect(inner(e, "message_event")).toEqual({
      type: "policy_rejection",
      event_id: base.event_id,
      timestamp: UNIX,
      rcpt_to: "a@example.org",
      raw_rcpt_to: "a@example.org",
      routing_domain: "example.org",
      msg_from: "x@example.net",
      raw_reason: "554 5.7.1 Client host [192.0.2.10] blocked",
      reason: "554 5.7.1 Client host [a.b.c.d] blocked",
      error_code: "554",
      bounce_class: "25",
      remote_addr: "192.0.2.10",
    });
  });

  test("open and click → track_event; list_unsubscribe → unsubscribe_event; spam_complaint → message_event", () => {
    expect(inner(ev("open", engagement), "track_event")).toEqual({ type: "open", ...engaged });
    expect(inner(ev("click", { ...engagement, url: "https://example.com/offer" }), "track_event")).toEqual({
      type: "click",
      ...engaged,
      target_link_url: "https://example.com/offer",
    });
    expect(inner(ev("list_unsubscribe", engagement), "unsubscribe_event")).toEqual({ type: "list_unsubscribe", ...engaged });
    expect(inner(ev("spam_complaint", { ...engagement, feedback_type: "abuse" }), "message_event")).toEqual({
      type: "spam_complaint",
      ...engaged,
      fbtype: "abuse",
    });
  });

  test("the first open of a message and recipient is SparkPost's initial_open; later ones and first clicks keep their type", () => {
    expect(inner(ev("open", { ...engagement, first: true }), "track_event")).toMatchObject({ type: "initial_open" });
    expect(inner(ev("open", { ...engagement, first: false }), "track_event")).toMatchObject({ type: "open" });
    expect(inner(ev("click", { ...engagement, first: true, url: "https://example.com/" }), "track_event")).toMatchObject({ type: "click" });
  });

  test("custom events have no SparkPost counterpart: null", () => {
    expect(toSparkPost(ev("custom", { custom_type: "profile.updated" }))).toBeNull();
  });
});

describe("toSparkPost: fields", () => {
  test("every object has its wrapper, the SparkPost type, event_id and a unix-seconds string timestamp", () => {
    for (const type of EVENT_TYPES) {
      const target = SPARKPOST_EVENTS[type];
      if (target === null) continue;
      const e = sampleEvent(type, { host: "mx1", now: Date.parse(TS) });
      const o = inner(e, target.wrapper);
      expect(o.type).toBe(target.type);
      expect(o.event_id).toBe(e.event_id);
      expect(o.timestamp).toBe(UNIX);
      expect(o.timestamp).toMatch(/^\d+$/);
    }
  });

  test("numbers SparkPost sends as strings are strings", () => {
    const o = inner(ev("bounce", { ...mail, response: "550 5.1.1 no", bounce_class: "unknown_user" }), "message_event");
    for (const k of ["timestamp", "num_retries", "queue_time", "msg_size", "error_code", "bounce_class"])
      expect(typeof o[k]).toBe("string");
  });

  test("tags → rcpt_tags, metadata → rcpt_meta, campaign_id kept", () => {
    const o = inner(
      ev("delivery", { rcpt_to: "a@example.org", tags: ["newsletter"], metadata: { customer: "42", n: 1 }, campaign_id: "spring" }),
      "message_event",
    );
    expect(o.rcpt_tags).toEqual(["newsletter"]);
    expect(o.rcpt_meta).toEqual({ customer: "42", n: 1 });
    expect(o.campaign_id).toBe("spring");
  });

  test("message_id falls back to queue_id; num_retries never goes negative", () => {
    const o = inner(ev("delivery", { queue_id: "4BCD21C03F2", attempt: 0 }), "message_event");
    expect(o.message_id).toBe("4BCD21C03F2");
    expect(o.num_retries).toBe("0");
    expect(o).not.toHaveProperty("rcpt_to");
  });

  test("relay IPs from Postfix and Exim, IPv6 too; a relay without an IP sends neither ip_address nor delv_method", () => {
    const ip = (relay: string) => inner(ev("delivery", { relay }), "message_event").ip_address;
    expect(ip("mx.example.org[203.0.113.5]:25")).toBe("203.0.113.5");
    expect(ip("mx.example.org [203.0.113.6]")).toBe("203.0.113.6");
    expect(ip("mx.example.org[2001:db8::1]:25")).toBe("2001:db8::1");
    const local = inner(ev("delivery", { relay: "local" }), "message_event");
    expect(local).not.toHaveProperty("ip_address");
    expect(local).not.toHaveProperty("delv_method");
  });

  test("bounce_class: each hookd class maps to its numeric string; a bounce without one is 1 (Undetermined)", () => {
    for (const c of BOUNCE_CLASSES) {
      expect(inner(ev("bounce", { rcpt_to: "a@example.org", bounce_class: c }), "message_event").bounce_class).toBe(
        SPARKPOST_BOUNCE_CLASSES[c],
      );
    }
    expect(inner(ev("bounce", { rcpt_to: "a@example.org" }), "message_event").bounce_class).toBe("1");
    expect(inner(ev("delay", { rcpt_to: "a@example.org" }), "message_event")).not.toHaveProperty("bounce_class");
    const known = ["1", "10", "20", "21", "22", "23", "24", "25", "30", "40", "50", "51", "52", "53", "54", "60", "70", "80", "90", "100"];
    for (const code of Object.values(SPARKPOST_BOUNCE_CLASSES)) expect(known).toContain(code);
  });

  test("a response without an SMTP code sends no error_code", () => {
    const o = inner(ev("bounce", { rcpt_to: "a@example.org", response: "host not found" }), "message_event");
    expect(o.raw_reason).toBe("host not found");
    expect(o).not.toHaveProperty("error_code");
  });
});
