import { describe, expect, test } from "bun:test";
import type { z } from "zod";
import { EVENT_SCHEMAS, EVENT_TYPES, type Event, type EventType } from "../../../src/events/schema.ts";
import { sampleEvent } from "../../../src/events/samples.ts";
import { generateSigningKeyPair } from "../../../src/deliver/ecdsa.ts";
import { encodeBatch } from "../../../src/deliver/formats/hookd.ts";
import { encodeBody, formatCarries, formatHeaders } from "../../../src/deliver/formats/index.ts";
import { WEBHOOK_FORMATS } from "../../../src/webhooks/model.ts";
import { SENDGRID_FIELDS, toSendGrid } from "../../../src/deliver/formats/sendgrid.ts";
import { SPARKPOST_FIELDS, toSparkPost } from "../../../src/deliver/formats/sparkpost.ts";
import { SFMC_FIELDS, toSfmc } from "../../../src/deliver/formats/sfmc.ts";
import { COPERNICA_FIELDS, toCopernica } from "../../../src/deliver/formats/copernica.ts";

const NOW = Date.parse("2026-11-23T13:07:09.123Z");
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const samples = EVENT_TYPES.map((t, i) => sampleEvent(t, { host: "mx1", now: NOW, index: i }));

/** One event of each type with every field its schema allows. */
const FULL: Event[] = EVENT_TYPES.map((type) => {
  const all: Record<string, unknown> = {
    event_id: `full-${type}`,
    timestamp: new Date(NOW).toISOString(),
    host: "mx1",
    message_id: "m1@example.com",
    queue_id: "4BCD21C03F2",
    mail_from: "news@example.com",
    campaign_id: "spring",
    tags: ["newsletter"],
    metadata: { customer: "42" },
    rcpt_to: "alice@example.org",
    orig_rcpt: "sales@example.org",
    relay: "mx.example.org[203.0.113.5]:25",
    dsn: "5.1.1",
    response: "550 5.1.1 User unknown",
    delay_s: 2,
    size: 2048,
    nrcpt: 1,
    client_ip: "192.0.2.10",
    bounce_class: "unknown_user",
    attempt: 2,
    user_agent: "Mozilla/5.0",
    ip: "198.51.100.7",
    url: "https://example.com/offer",
    feedback_type: "abuse",
    first: true,
    machine: true,
    machine_reason: "image_proxy",
    custom_type: "profile.updated",
    data: { field: "city" },
  };
  const shape = (EVENT_SCHEMAS[type] as unknown as z.ZodObject).shape;
  const e: Record<string, unknown> = { type };
  for (const k of Object.keys(shape)) if (k in all) e[k] = all[k];
  return EVENT_SCHEMAS[type].parse(e) as Event;
});

describe("encodeBody", () => {
  test("hookd: the stored texts joined byte for byte, exactly as encodeBatch", () => {
    const texts = ['{"event_id":"a", "type":"delivery"}', '{ "b" : [1,2] }', ...samples.map((e) => JSON.stringify(e))];
    expect(encodeBody("hookd", texts)).toEqual(encodeBatch(texts));
    expect(decode(encodeBody("hookd", texts))).toBe(`[${texts.join(",")}]`);
    expect(decode(encodeBody("hookd", []))).toBe("[]");
  });

  test("sendgrid and sparkpost: one mapped object per event in order, custom events left out", () => {
    const texts = samples.map((e) => JSON.stringify(e));
    const sg = JSON.parse(decode(encodeBody("sendgrid", texts)));
    const sp = JSON.parse(decode(encodeBody("sparkpost", texts)));
    const carried = samples.filter((e) => e.type !== "custom");
    expect(sg).toEqual(carried.map((e) => toSendGrid(e)));
    expect(sp).toEqual(carried.map((e) => toSparkPost(e)));
    expect(decode(encodeBody("sendgrid", [JSON.stringify(sampleEvent("custom", { host: "h", now: NOW }))]))).toBe("[]");
  });

  test("from event objects: the same bytes as from their stored texts, for every format", () => {
    for (const format of WEBHOOK_FORMATS) {
      expect(encodeBody(format, samples)).toEqual(
        encodeBody(
          format,
          samples.map((e) => JSON.stringify(e)),
        ),
      );
    }
  });

  test("formatCarries says which types reach the body", () => {
    for (const format of WEBHOOK_FORMATS) {
      for (const e of samples) {
        const text = decode(encodeBody(format, [e]));
        // copernica's body is one event's form, or nothing; the others a JSON array.
        const count = format === "copernica" ? (text === "" ? 0 : 1) : (JSON.parse(text) as unknown[]).length;
        expect(count, `${format} ${e.type}`).toBe(formatCarries(format, e.type, e.type === "custom" ? e.custom_type : null) ? 1 : 0);
      }
    }
    expect(formatCarries("hookd", "custom")).toBe(true);
    expect(formatCarries("sendgrid", "custom")).toBe(false);
    expect(formatCarries("sparkpost", "custom")).toBe(false);
    expect(formatCarries("sfmc", "custom")).toBe(false);
    expect(formatCarries("copernica", "custom", "profile.created")).toBe(true);
    expect(formatCarries("copernica", "custom", "order.shipped")).toBe(false);
  });
});

// ENS's objects as SFMC's pages name their fields: composite.jobId, info.to, ….
function flatSfmc(o: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!o) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === "info" || k === "composite") for (const [ik, iv] of Object.entries(v as object)) out[`${k}.${ik}`] = iv;
    else out[k] = v;
  }
  return out;
}

// Copernica's form keys by name: tags[]=a is tags.
function formKeys(form: URLSearchParams | null): Record<string, string> | null {
  return form ? Object.fromEntries([...form.keys()].map((k) => [k.replace(/\[.*$/, ""), k])) : null;
}

describe("field tables", () => {
  const hookdFields = new Set(Object.values(EVENT_SCHEMAS).flatMap((s) => Object.keys((s as unknown as z.ZodObject).shape)));

  for (const [name, table, key, map] of [
    ["sendgrid", SENDGRID_FIELDS, "sendgrid", (e: Event) => toSendGrid(e)],
    ["sparkpost", SPARKPOST_FIELDS, "sparkpost", (e: Event) => Object.values(toSparkPost(e)?.msys ?? {})[0] ?? null],
    ["sfmc", SFMC_FIELDS, "sfmc", (e: Event) => flatSfmc(toSfmc(e))],
    ["copernica", COPERNICA_FIELDS, "copernica", (e: Event) => formKeys(toCopernica(e))],
  ] as const) {
    test(`${name}: every hookd field is in the table`, () => {
      expect(new Set<string>(table.map((r) => r.hookd))).toEqual(hookdFields);
    });

    test(`${name}: every provider field the table names is sent for some event`, () => {
      const sent = new Set(FULL.flatMap((e) => Object.keys(map(e) ?? {})));
      for (const row of table) {
        const field = (row as Record<string, string | null>)[key];
        if (field === null || field === undefined || field.startsWith("(")) continue;
        expect(sent.has(field) ? field : `missing ${field}`).toBe(field);
      }
    });
  }
});

describe("formatHeaders", () => {
  const body = encodeBody("sendgrid", [JSON.stringify(samples[1])]);
  const input = { batchId: "msg_01J9Z8X7W6V5T4S3R2Q1P0", body, nowMs: Math.floor(NOW / 1000) * 1000 + 999 };

  test("hookd adds nothing; sparkpost names the batch; sendgrid without a key adds nothing", () => {
    expect(formatHeaders("hookd", input)).toEqual({});
    expect(formatHeaders("sparkpost", input)).toEqual({ "x-messagesystems-batch-id": input.batchId });
    expect(formatHeaders("sendgrid", input)).toEqual({});
    expect(formatHeaders("sendgrid", { ...input, signingPrivateKey: null })).toEqual({});
  });

  test("sendgrid with a key: the Twilio pair, lower-cased, timestamp in whole seconds", () => {
    const h = formatHeaders("sendgrid", { ...input, signingPrivateKey: generateSigningKeyPair().privateKeyPkcs8B64 });
    expect(Object.keys(h).sort()).toEqual(["x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp"]);
    expect(h["x-twilio-email-event-webhook-timestamp"]).toBe(String(Math.floor(NOW / 1000)));
    expect(h["x-twilio-email-event-webhook-signature"]).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  test("no format replaces a Standard Webhooks header or the framing", () => {
    const key = generateSigningKeyPair().privateKeyPkcs8B64;
    for (const format of WEBHOOK_FORMATS) {
      for (const name of Object.keys(formatHeaders(format, { ...input, signingPrivateKey: key }))) {
        expect(["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent", "authorization"]).not.toContain(name);
        expect(name).toBe(name.toLowerCase());
      }
    }
  });
});

// Keeps the EventType import honest if EVENT_TYPES grows: every type has a full fixture.
test("FULL covers every event type", () => {
  expect(FULL.map((e) => e.type)).toEqual([...EVENT_TYPES] as EventType[]);
});
