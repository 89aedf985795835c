// The copernica format against Copernica's webhook pages: each call's variables, form-encoded,
// read back the way a receiver reads them (URLSearchParams; PHP's $_POST reads the same).
import { describe, expect, test } from "bun:test";
import { EVENT_TYPES, type Event, type EventType } from "../../../src/events/schema.ts";
import { COPERNICA_CUSTOM_TYPES, COPERNICA_EVENTS, toCopernica } from "../../../src/deliver/formats/copernica.ts";
import { encodeBody, formatContentType } from "../../../src/deliver/formats/index.ts";

const TS = "2026-11-23T13:07:09.123Z";
const base = { event_id: "01JDQ3ZK8X4Y0V9D7N2M5R6T8W", timestamp: TS, host: "mx1" };
const ev = (type: EventType, fields: Record<string, unknown> = {}) => ({ ...base, type, ...fields }) as Event;
const mail = {
  queue_id: "4BCD21C03F2",
  message_id: "20261123130709.4BCD2@example.com",
  mail_from: "news@example.com",
  rcpt_to: "alice@example.org",
  tags: ["newsletter", "nl"],
};
const when = { timestamp: "2026-11-23 13:07:09", time: "1795439229" };

/** What a receiver reads: the body parsed by URLSearchParams, repeated keys as lists. */
function received(e: Event): Record<string, string | string[]> {
  const body = new TextDecoder().decode(encodeBody("copernica", [e]));
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

describe("toCopernica: Copernica's variables per call", () => {
  test("content type: application/x-www-form-urlencoded", () => {
    expect(formatContentType("copernica")).toBe("application/x-www-form-urlencoded");
    expect(formatContentType("hookd")).toBe("application/json");
  });

  test("delivery: id, type, timestamp, time, recipient, tags; code, extended and description of the reply", () => {
    expect(received(ev("delivery", { ...mail, dsn: "2.0.0", response: "250 2.0.0 OK: queued as 9A1B" }))).toEqual({
      id: mail.message_id,
      type: "delivery",
      ...when,
      recipient: "alice@example.org",
      code: "250",
      extended: "2.0.0",
      description: "OK: queued as 9A1B",
      "tags[]": ["newsletter", "nl"],
    });
  });

  test("failure: action failed and the SMTP state the reply names; out_of_band is an asynchronous bounce", () => {
    const bounce = received(
      ev("bounce", {
        ...mail,
        dsn: "5.1.1",
        response: "host mx.example.org[203.0.113.5] said: 550 5.1.1 User unknown (in reply to RCPT TO command)",
      }),
    );
    expect(bounce).toMatchObject({
      id: mail.message_id,
      type: "failure",
      ...when,
      recipient: mail.rcpt_to,
      action: "failed",
      state: "rcptto",
      code: "550",
      extended: "5.1.1",
    });
    expect(bounce.description).toBe("User unknown (in reply to RCPT TO command)");
    const states: [string, string][] = [
      ["550 5.7.1 rejected (in reply to end of DATA command)", "message"],
      ["SMTP error from remote mail server after MAIL FROM:<a@b>: 550 no", "mailfrom"],
      ["554 5.7.1 Client host blocked", "unknown"],
    ];
    for (const [response, state] of states) expect(received(ev("bounce", { ...mail, response })).state, response).toBe(state);
    expect(received(ev("out_of_band", { ...mail, dsn: "5.1.1", response: "550 5.1.1 gone" }))).toMatchObject({
      type: "failure",
      state: "bounce",
      action: "failed",
    });
    expect(received(ev("expired", { ...mail, response: "message expired" }))).toMatchObject({
      type: "failure",
      state: "unknown",
      description: "message expired",
    });
    expect(received(ev("policy_rejection", { rcpt_to: mail.rcpt_to, response: "554 5.7.1 blocked" }))).toMatchObject({
      type: "failure",
      code: "554",
      extended: "5.7.1",
    });
  });

  test("open and click: ip and useragent; the click's original URL", () => {
    const engaged = { message_id: mail.message_id, rcpt_to: mail.rcpt_to, ip: "198.51.100.7", user_agent: "Mozilla/5.0 (X11)" };
    expect(received(ev("open", engaged))).toEqual({
      id: mail.message_id,
      type: "open",
      ...when,
      recipient: mail.rcpt_to,
      ip: "198.51.100.7",
      useragent: "Mozilla/5.0 (X11)",
    });
    expect(received(ev("click", { ...engaged, url: "https://example.com/offer?a=1&b=2" }))).toEqual({
      id: mail.message_id,
      type: "click",
      ...when,
      recipient: mail.rcpt_to,
      ip: "198.51.100.7",
      original: "https://example.com/offer?a=1&b=2",
      useragent: "Mozilla/5.0 (X11)",
    });
  });

  test("spam complaint: SMTPeter's abuse call", () => {
    expect(received(ev("spam_complaint", { message_id: mail.message_id, rcpt_to: mail.rcpt_to, feedback_type: "abuse" }))).toEqual({
      id: mail.message_id,
      type: "abuse",
      emailfrom: mail.rcpt_to,
    });
  });

  test("profile creations, updates and removals: the custom event's data as Copernica's variables, fields[name]=value", () => {
    const data = {
      profile: 123,
      database: 1,
      parameters: { name: "Johny" },
      fields: { name: "Johny", mail: "johny@example.com" },
      interests: ["blue", "red"],
      active: true,
    };
    const r = received(ev("custom", { custom_type: "profile.created", data }));
    expect(r).toEqual({
      type: "create",
      ...when,
      profile: "123",
      database: "1",
      "parameters[name]": "Johny",
      "fields[name]": "Johny",
      "fields[mail]": "johny@example.com",
      "interests[]": ["blue", "red"],
      active: "1",
    });
    expect(received(ev("custom", { custom_type: "profile.updated", data: { profile: 5 } })).type).toBe("update");
    expect(received(ev("custom", { custom_type: "subprofile.deleted", data: { subprofile: 6, profile: 5 } }))).toMatchObject({
      type: "delete",
      subprofile: "6",
    });
    // hookd's own type and times win over data's.
    expect(received(ev("custom", { custom_type: "profile.updated", data: { type: "x", time: "0" } }))).toEqual({ type: "update", ...when });
  });

  test("only what Copernica has a call for: other types and custom names give no body", () => {
    for (const t of EVENT_TYPES) if (COPERNICA_EVENTS[t] === null) expect(toCopernica(ev(t, mail)), t).toBeNull();
    expect(toCopernica(ev("custom", { custom_type: "order.shipped", data: {} }))).toBeNull();
    expect(Object.keys(COPERNICA_CUSTOM_TYPES).sort()).toEqual([
      "profile.created",
      "profile.deleted",
      "profile.updated",
      "subprofile.created",
      "subprofile.deleted",
      "subprofile.updated",
    ]);
  });

  test("one event per body: the first the format carries", () => {
    const delay = ev("delay", mail);
    const open = ev("open", { ...mail, event_id: "second" });
    expect(new TextDecoder().decode(encodeBody("copernica", [delay, open]))).toBe(toCopernica(open)!.toString());
    expect(new TextDecoder().decode(encodeBody("copernica", [JSON.stringify(delay)]))).toBe("");
  });
});
