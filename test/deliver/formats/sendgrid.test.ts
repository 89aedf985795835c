import { describe, expect, test } from "bun:test";
import { EventWebhook } from "@sendgrid/eventwebhook";
import { BOUNCE_CLASSES, EVENT_TYPES, type Event, type EventType } from "../../../src/events/schema.ts";
import { sampleEvent } from "../../../src/events/samples.ts";
import { generateSigningKeyPair } from "../../../src/deliver/ecdsa.ts";
import { encodeBody, formatHeaders } from "../../../src/deliver/formats/index.ts";
import { SENDGRID_BOUNCE_CLASSIFICATIONS, toSendGrid } from "../../../src/deliver/formats/sendgrid.ts";

const TS = "2026-11-23T13:07:09.123Z";
const UNIX = 1795439229;
const base = { event_id: "01JDQ3ZK8X4Y0V9D7N2M5R6T8W", timestamp: TS, host: "mx1" };
const ev = (type: EventType, fields: Record<string, unknown> = {}) => ({ ...base, type, ...fields }) as Event;
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
  email: "Alice@Example.org",
  timestamp: UNIX,
  sg_event_id: base.event_id,
  sg_message_id: mail.message_id,
  "smtp-id": `<${mail.message_id}>`,
};
const engagement = { message_id: mail.message_id, rcpt_to: "Alice@Example.org", user_agent: "Mozilla/5.0", ip: "198.51.100.7" };

describe("toSendGrid: every event type", () => {
  test("injection → processed", () => {
    expect(toSendGrid(ev("injection", { ...mail, client_ip: "192.0.2.10" }))).toEqual({ ...ids, event: "processed", attempt: "3" });
  });

  test("delivery → delivered, with response and attempt as a string", () => {
    expect(toSendGrid(ev("delivery", { ...mail, dsn: "2.0.0", response: "250 2.0.0 OK" }))).toEqual({
      ...ids,
      event: "delivered",
      response: "250 2.0.0 OK",
      attempt: "3",
    });
  });

  test("delay → deferred", () => {
    expect(toSendGrid(ev("delay", { ...mail, dsn: "4.2.0", response: "451 4.2.0 Mailbox busy" }))).toEqual({
      ...ids,
      event: "deferred",
      response: "451 4.2.0 Mailbox busy",
      attempt: "3",
    });
  });

  test("bounce → bounce with reason, status, type and bounce_classification", () => {
    const e = ev("bounce", { ...mail, dsn: "5.1.1", response: "550 5.1.1 User unknown", bounce_class: "unknown_user" });
    expect(toSendGrid(e)).toEqual({
      ...ids,
      event: "bounce",
      reason: "550 5.1.1 User unknown",
      status: "5.1.1",
      attempt: "3",
      type: "bounce",
      bounce_classification: "Invalid Address",
    });
  });

  test("expired → bounce of type blocked (SendGrid's block after 72 h of deferrals)", () => {
    const e = ev("expired", { ...mail, dsn: "4.4.7", response: "message expired", bounce_class: "soft" });
    expect(toSendGrid(e)).toEqual({
      ...ids,
      event: "bounce",
      reason: "message expired",
      status: "4.4.7",
      attempt: "3",
      type: "blocked",
      bounce_classification: "Unclassified",
    });
    expect(toSendGrid(ev("expired", { rcpt_to: "a@example.org", bounce_class: "unknown_user" }))).toMatchObject({ type: "blocked" });
  });

  test("policy_rejection → dropped with reason and status", () => {
    const e = ev("policy_rejection", {
      mail_from: "x@example.net",
      rcpt_to: "a@example.org",
      client_ip: "192.0.2.10",
      dsn: "5.7.1",
      response: "554 5.7.1 blocked",
      bounce_class: "block",
    });
    expect(toSendGrid(e)).toEqual({
      email: "a@example.org",
      timestamp: UNIX,
      sg_event_id: base.event_id,
      event: "dropped",
      reason: "554 5.7.1 blocked",
      status: "5.7.1",
    });
  });

  test("open, click, list_unsubscribe → unsubscribe, spam_complaint → spamreport", () => {
    const common = { ...ids, email: "Alice@Example.org", useragent: "Mozilla/5.0", ip: "198.51.100.7" };
    expect(toSendGrid(ev("open", engagement))).toEqual({ ...common, event: "open" });
    expect(toSendGrid(ev("click", { ...engagement, url: "https://example.com/offer" }))).toEqual({
      ...common,
      event: "click",
      url: "https://example.com/offer",
    });
    expect(toSendGrid(ev("list_unsubscribe", engagement))).toEqual({ ...common, event: "unsubscribe" });
    expect(toSendGrid(ev("spam_complaint", { ...engagement, feedback_type: "abuse" }))).toEqual({ ...common, event: "spamreport" });
  });

  test("an open by a proxy or prefetch carries sg_machine_open, as SendGrid marks Apple's; clicks do not", () => {
    expect(toSendGrid(ev("open", { ...engagement, machine: true }))).toMatchObject({ event: "open", sg_machine_open: true });
    expect(toSendGrid(ev("open", { ...engagement, machine: false }))).toMatchObject({ event: "open", sg_machine_open: false });
    expect(toSendGrid(ev("click", { ...engagement, machine: true, url: "https://example.com/" }))).not.toHaveProperty("sg_machine_open");
  });

  test("custom events have no SendGrid counterpart: null", () => {
    expect(toSendGrid(ev("custom", { custom_type: "profile.updated", rcpt_to: "a@example.org" }))).toBeNull();
  });
});

describe("toSendGrid: fields", () => {
  test("every SendGrid object has email, an integer timestamp, event and sg_event_id", () => {
    for (const type of EVENT_TYPES) {
      if (type === "custom") continue;
      for (const e of [
        sampleEvent(type, { host: "mx1", now: Date.parse(TS) }),
        ev(type, type === "click" ? { rcpt_to: "a@b.c", url: "https://x.y/" } : {}),
      ]) {
        const o = toSendGrid(e)!;
        expect(typeof o.email).toBe("string");
        expect(Number.isInteger(o.timestamp)).toBe(true);
        expect(o.timestamp).toBe(UNIX);
        expect(typeof o.event).toBe("string");
        expect(o.sg_event_id).toBe(e.event_id);
      }
    }
  });

  test("email falls back to orig_rcpt, then to an empty string", () => {
    expect(toSendGrid(ev("bounce", { orig_rcpt: "sales@example.org" }))!.email).toBe("sales@example.org");
    expect(toSendGrid(ev("policy_rejection", { client_ip: "192.0.2.10" }))!.email).toBe("");
  });

  test("sg_message_id falls back to queue_id; smtp-id only from a Message-ID", () => {
    const o = toSendGrid(ev("delivery", { queue_id: "4BCD21C03F2", rcpt_to: "a@example.org" }))!;
    expect(o.sg_message_id).toBe("4BCD21C03F2");
    expect(o).not.toHaveProperty("smtp-id");
  });

  test("tags → category array; metadata and campaign_id at top level as custom args, never over SendGrid's fields", () => {
    const o = toSendGrid(
      ev("delivery", {
        rcpt_to: "a@example.org",
        tags: ["newsletter", "weekly"],
        campaign_id: "spring",
        metadata: { customer: "42", tier: 2, event: "forged", email: "forged", __proto__x: null },
      }),
    )!;
    expect(o.category).toEqual(["newsletter", "weekly"]);
    expect(o.campaign_id).toBe("spring");
    expect(o.customer).toBe("42");
    expect(o.tier).toBe(2);
    expect(o.__proto__x).toBeNull();
    expect(o.event).toBe("delivered");
    expect(o.email).toBe("a@example.org");
  });

  test("a metadata key named __proto__ is dropped, not turned into a prototype", () => {
    const e = JSON.parse(
      `{"event_id":"e1","type":"open","timestamp":"${TS}","host":"mx1","rcpt_to":"a@example.org","metadata":{"__proto__":{"polluted":true},"k":"v"}}`,
    ) as Event;
    const o = toSendGrid(e)!;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect((o as { polluted?: unknown }).polluted).toBeUndefined();
    expect(o.k).toBe("v");
  });

  test("bounce type: bounce for address failures, blocked for everything else and for 4.x.x statuses", () => {
    const typeOf = (bounce_class?: string, dsn?: string) => toSendGrid(ev("bounce", { rcpt_to: "a@example.org", bounce_class, dsn }))!.type;
    for (const c of ["hard", "unknown_user", "unknown_domain", "undetermined", undefined]) expect(typeOf(c, "5.0.0")).toBe("bounce");
    for (const c of ["soft", "block", "quota", "spam", "policy", "content", "auth", "network"]) expect(typeOf(c, "5.0.0")).toBe("blocked");
    expect(typeOf("hard", "4.4.1")).toBe("blocked");
  });

  test("every hookd bounce class has one of SendGrid's seven classifications", () => {
    const seven = ["Invalid Address", "Technical", "Content", "Reputation", "Frequency or Volume", "Mailbox Unavailable", "Unclassified"];
    for (const c of BOUNCE_CLASSES) {
      expect(seven).toContain(SENDGRID_BOUNCE_CLASSIFICATIONS[c]);
      expect(toSendGrid(ev("bounce", { rcpt_to: "a@example.org", bounce_class: c }))!.bounce_classification).toBe(
        SENDGRID_BOUNCE_CLASSIFICATIONS[c],
      );
    }
    expect(toSendGrid(ev("bounce", { rcpt_to: "a@example.org" }))!.bounce_classification).toBe("Unclassified");
  });

  test("a fractional-second timestamp is floored", () => {
    expect(toSendGrid(ev("open", { ...engagement, timestamp: "2026-11-23T13:07:09.999Z" }))!.timestamp).toBe(UNIX);
  });
});

describe("sendgrid body signed the way SendGrid signs: verified by @sendgrid/eventwebhook", () => {
  const keys = generateSigningKeyPair();
  const ew = new EventWebhook();
  const publicKey = ew.convertPublicKeyToECDSA(keys.publicKeySpkiB64);
  const nowMs = Date.parse(TS);
  const signed = (events: Event[]) => {
    const body = encodeBody(
      "sendgrid",
      events.map((e) => JSON.stringify(e)),
    );
    const headers = formatHeaders("sendgrid", { batchId: "msg_1", body, nowMs, signingPrivateKey: keys.privateKeyPkcs8B64 });
    return {
      body,
      text: new TextDecoder().decode(body),
      signature: headers["x-twilio-email-event-webhook-signature"]!,
      timestamp: headers["x-twilio-email-event-webhook-timestamp"]!,
    };
  };

  test("every event type's body, alone and all in one batch, verifies", () => {
    const all = EVENT_TYPES.filter((t) => t !== "custom").map((t, i) => sampleEvent(t, { host: "mx1", now: nowMs, index: i }));
    for (const events of [...all.map((e) => [e]), all]) {
      const s = signed(events);
      expect(s.timestamp).toBe(String(UNIX));
      expect(ew.verifySignature(publicKey, s.text, s.signature, s.timestamp)).toBe(true);
      expect(ew.verifySignature(publicKey, Buffer.from(s.body), s.signature, s.timestamp)).toBe(true);
    }
  });

  test("non-ASCII bodies verify (signed as UTF-8 bytes)", () => {
    const s = signed([ev("open", { rcpt_to: "zoë@exämple.org", user_agent: "Mozílla ✓" })]);
    expect(s.text).toContain("zoë");
    expect(ew.verifySignature(publicKey, s.text, s.signature, s.timestamp)).toBe(true);
  });

  test("an altered body, timestamp or key is rejected", () => {
    const s = signed([sampleEvent("bounce", { host: "mx1", now: nowMs })]);
    expect(ew.verifySignature(publicKey, s.text.replace("bounce", "delivered"), s.signature, s.timestamp)).toBe(false);
    expect(ew.verifySignature(publicKey, s.text + " ", s.signature, s.timestamp)).toBe(false);
    expect(ew.verifySignature(publicKey, s.text, s.signature, String(UNIX + 1))).toBe(false);
    const other = ew.convertPublicKeyToECDSA(generateSigningKeyPair().publicKeySpkiB64);
    expect(ew.verifySignature(other, s.text, s.signature, s.timestamp)).toBe(false);
  });

  test("over HTTP: a SendGrid-style receiver accepts the request as sent and refuses a tampered one", async () => {
    // What a receiver written for SendGrid does: raw body text, the two headers, the key from settings.
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const payload = await req.text();
        const ok = ew.verifySignature(
          publicKey,
          payload,
          req.headers.get("X-Twilio-Email-Event-Webhook-Signature") ?? "",
          req.headers.get("X-Twilio-Email-Event-Webhook-Timestamp") ?? "",
        );
        return new Response(null, { status: ok ? 204 : 403 });
      },
    });
    try {
      const s = signed(EVENT_TYPES.map((t, i) => sampleEvent(t, { host: "mx1", now: nowMs, index: i })));
      const headers = {
        "content-type": "application/json",
        "x-twilio-email-event-webhook-signature": s.signature,
        "x-twilio-email-event-webhook-timestamp": s.timestamp,
      };
      const post = (body: BodyInit) => fetch(`http://127.0.0.1:${server.port}/`, { method: "POST", headers, body });
      expect((await post(s.body)).status).toBe(204);
      expect((await post(s.text.replace("delivered", "bounce"))).status).toBe(403);
    } finally {
      server.stop(true);
    }
  });
});
