// The event catalog: GET /webhooks/events/documentation and /webhooks/events/samples.
// The expectations are derived from the event schemas themselves (src/events/schema.ts), so
// a type or field added there without a description and an example fails here.
import { describe, expect, test } from "bun:test";
import type { z } from "zod";
import { EVENT_SCHEMAS, EVENT_TYPES, type EventType } from "../../src/events/schema.ts";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { results } from "../helpers/delivery.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";

const res = testResources();

type FieldDoc = { description: string; sampleValue?: unknown; required?: boolean };
type EventDoc = { display_name: string; description: string; event: Record<string, FieldDoc> };
type ClassDoc = { display_name: string; description: string; events: Record<string, EventDoc> };
type Catalog = Record<string, ClassDoc>;

const shapeOf = (type: EventType) => (EVENT_SCHEMAS[type] as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
/** Fields every stored event has, whatever the schema lets a client leave out of POST /events. */
const ALWAYS_PRESENT = ["event_id", "type", "timestamp", "host"];

/** Every event type documented, whichever class it is listed under. */
function documentedTypes(catalog: Catalog): Map<string, EventDoc> {
  const out = new Map<string, EventDoc>();
  for (const cls of Object.values(catalog)) {
    for (const [type, doc] of Object.entries(cls.events)) {
      if (out.has(type)) throw new Error(`event type ${type} is documented twice`);
      out.set(type, doc);
    }
  }
  return out;
}

describe("GET /webhooks/events/documentation", () => {
  test("lists every event type, each under a class with a name and description", async () => {
    const app = await res.app();
    const catalog = await results<Catalog>(app.api("GET", "/webhooks/events/documentation"));
    const docs = documentedTypes(catalog);
    expect([...docs.keys()].sort()).toEqual([...EVENT_TYPES].sort());
    for (const [name, cls] of Object.entries(catalog)) {
      expect(cls.display_name, name).toBeString();
      expect(cls.description.length, name).toBeGreaterThan(0);
    }
    for (const [type, doc] of docs) {
      expect(doc.display_name.length, type).toBeGreaterThan(0);
      expect(doc.description.length, `${type}: description`).toBeGreaterThan(0);
    }
  });

  // One test per type, so a failure names the type and each missing field.
  for (const type of EVENT_TYPES) {
    test(`${type}: every schema field documented with a description, a valid sample value and required as the schema says`, async () => {
      const app = await res.app();
      const doc = documentedTypes(await results<Catalog>(app.api("GET", "/webhooks/events/documentation"))).get(type);
      expect(doc).toBeDefined();
      const shape = shapeOf(type);
      expect(Object.keys(doc!.event).sort()).toEqual(Object.keys(shape).sort());

      const problems: string[] = [];
      for (const [field, schema] of Object.entries(shape)) {
        const f = doc!.event[field]!;
        // catalog.ts falls back to the field's name when the schema has no description.
        if (typeof f.description !== "string" || f.description.trim() === "" || f.description === field)
          problems.push(`${field}: no description`);
        if (f.sampleValue === undefined || f.sampleValue === null) problems.push(`${field}: no sampleValue`);
        else if (!schema.safeParse(f.sampleValue).success)
          problems.push(`${field}: sampleValue ${JSON.stringify(f.sampleValue)} is not valid for the field`);
        const optional = schema.safeParse(undefined).success && !ALWAYS_PRESENT.includes(field);
        if ((f.required === true) === optional)
          problems.push(`${field}: required is ${String(f.required)}, the schema says ${optional ? "optional" : "required"}`);
      }
      expect(problems).toEqual([]);
    });
  }

  test("custom types: one from [events] custom_types is listed from the start, one seen via POST /events once it was posted", async () => {
    const app = await res.app({ events: { custom_types: ["order.shipped"] } });
    const text1 = JSON.stringify(await results<Catalog>(app.api("GET", "/webhooks/events/documentation")));
    expect(text1).toContain("order.shipped");
    expect(text1).not.toContain("profile.created");

    await results(
      app.api("POST", "/events", {
        body: [{ type: "custom", custom_type: "profile.created", rcpt_to: "alice@example.org", data: { city: "Oslo" } }],
      }),
    );
    const text2 = JSON.stringify(await results<Catalog>(app.api("GET", "/webhooks/events/documentation")));
    expect(text2).toContain("order.shipped");
    expect(text2).toContain("profile.created");
  });

  test("needs an API key with webhooks:read", async () => {
    const app = await res.app();
    const none = await app.api("GET", "/webhooks/events/documentation", { key: null });
    expect(none.status).toBe(401);
    await errorBody(none);
    const writer = (await app.hookd.store.keys.create("events-writer", ["events:write"], Date.now())).key;
    const forbidden = await app.api("GET", "/webhooks/events/documentation", { key: writer });
    expect(forbidden.status).toBe(403);
    expect((await errorBody(forbidden)).errors[0]!.code).toBe("forbidden");
  });
});

type Sample = Record<string, unknown> & { type: string; event_id: string };

describe("GET /webhooks/events/samples", () => {
  test("events=delivery,bounce: exactly those two, in that order, each a valid event of its type", async () => {
    const app = await res.app();
    const samples = await results<Sample[]>(app.api("GET", "/webhooks/events/samples?events=delivery,bounce"));
    expect(samples.map((s) => s.type)).toEqual(["delivery", "bounce"]);
    for (const s of samples) {
      const parsed = EVENT_SCHEMAS[s.type as EventType].safeParse(s);
      expect(parsed.success, `${s.type}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      expect(s.event_id).toBeString();
      expect(Number.isNaN(Date.parse(s.timestamp as string))).toBe(false);
    }
    expect(new Set(samples.map((s) => s.event_id)).size).toBe(2);
  });

  test("without events: one sample of every type, each valid", async () => {
    const app = await res.app();
    const samples = await results<Sample[]>(app.api("GET", "/webhooks/events/samples"));
    expect(samples.map((s) => s.type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const s of samples) expect(EVENT_SCHEMAS[s.type as EventType].safeParse(s).success, s.type).toBe(true);
  });

  test("an unknown type: 400 naming the events parameter", async () => {
    const app = await res.app();
    for (const q of ["events=delivery,nonsense", "events=", "events=delivery,,bounce"]) {
      const r = await app.api("GET", `/webhooks/events/samples?${q}`);
      expect(r.status, q).toBe(400);
      const err = (await errorBody(r)).errors[0]!;
      expect(err.field, q).toBe("events");
    }
    const unknownParam = await app.api("GET", "/webhooks/events/samples?evnets=delivery");
    expect(unknownParam.status).toBe(400);
    expect((await errorBody(unknownParam)).errors[0]).toMatchObject({ field: "evnets", code: "unknown_field" });
    const badFormat = await app.api("GET", "/webhooks/events/samples?format=mailgun");
    expect(badFormat.status).toBe(400);
    expect((await errorBody(badFormat)).errors[0]!.field).toBe("format");
  });

  test("format=sendgrid: SendGrid's flat events with SendGrid's names", async () => {
    const app = await res.app();
    // The mapping as SPEC.md states it.
    const spec: Record<string, string> = {
      injection: "processed",
      delivery: "delivered",
      delay: "deferred",
      bounce: "bounce",
      policy_rejection: "dropped",
      open: "open",
      click: "click",
      list_unsubscribe: "unsubscribe",
      spam_complaint: "spamreport",
    };
    const types = Object.keys(spec);
    const samples = await results<Record<string, unknown>[]>(
      app.api("GET", `/webhooks/events/samples?events=${types.join(",")}&format=sendgrid`),
    );
    expect(samples.map((s) => s.event)).toEqual(types.map((t) => spec[t]));
    for (const s of samples) {
      expect(s.type === undefined || s.type === "bounce" || s.type === "blocked").toBe(true); // SendGrid's bounce type, never hookd's
      expect(s.email).toBeString();
      expect(Number.isInteger(s.timestamp)).toBe(true);
      expect(s.sg_event_id).toBeString();
      expect(s.msys).toBeUndefined();
    }
  });

  test("format=sparkpost: each event wrapped in msys.message_event / track_event / unsubscribe_event", async () => {
    const app = await res.app();
    const samples = await results<{ msys: Record<string, Record<string, unknown>> }[]>(
      app.api("GET", "/webhooks/events/samples?events=delivery,bounce,open,click,list_unsubscribe&format=sparkpost"),
    );
    const wrappers = samples.map((s) => Object.keys(s.msys));
    expect(wrappers).toEqual([["message_event"], ["message_event"], ["track_event"], ["track_event"], ["unsubscribe_event"]]);
    const inner = samples.map((s) => Object.values(s.msys)[0]!);
    expect(inner.map((e) => e.type)).toEqual(["delivery", "bounce", "open", "click", "list_unsubscribe"]);
    for (const e of inner) {
      expect(e.timestamp).toMatch(/^\d+$/); // unix seconds as a string, as SparkPost sends it
      expect(e.rcpt_to).toBe("alice@example.org");
    }
    expect(inner[1]!.bounce_class).toMatch(/^\d+$/);
  });

  test("events=custom shows a known custom type name", async () => {
    const app = await res.app({ events: { custom_types: ["order.shipped"] } });
    const [s] = await results<Sample[]>(app.api("GET", "/webhooks/events/samples?events=custom"));
    expect(s).toMatchObject({ type: "custom", custom_type: "order.shipped" });
  });
});
