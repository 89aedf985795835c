// GET /webhooks/events/documentation?format=…: the catalog in each provider's names, in the
// shape of SparkPost's own documentation endpoint; its fields are exactly what the samples
// endpoint (and so delivery) sends in that format.
import { describe, expect, test } from "bun:test";
import { results } from "../helpers/delivery.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";

const res = testResources();

type FieldDoc = { description: string; sampleValue: unknown };
type EventDoc = { display_name: string; description: string; event: Record<string, FieldDoc> };
type ClassDoc = { display_name: string; description: string; events: Record<string, EventDoc> };
type Catalog = Record<string, ClassDoc>;

/** Every class, event and field has SparkPost's keys and a description; returns event name → doc. */
function checkShape(catalog: Catalog): Map<string, EventDoc> {
  const out = new Map<string, EventDoc>();
  for (const [name, cls] of Object.entries(catalog)) {
    expect(Object.keys(cls).sort(), name).toEqual(["description", "display_name", "events"]);
    expect(cls.display_name.length, name).toBeGreaterThan(0);
    expect(cls.description.length, name).toBeGreaterThan(0);
    for (const [type, doc] of Object.entries(cls.events)) {
      expect(Object.keys(doc).sort(), type).toEqual(["description", "display_name", "event"]);
      expect(doc.display_name.length, type).toBeGreaterThan(0);
      expect(doc.description.length, type).toBeGreaterThan(0);
      for (const [field, f] of Object.entries(doc.event)) {
        expect(f.description.length, `${type}.${field}`).toBeGreaterThan(0);
        expect(f.sampleValue, `${type}.${field}`).toBeDefined();
      }
      out.set(`${name}/${type}`, doc);
    }
  }
  return out;
}

describe("GET /webhooks/events/documentation?format=sparkpost", () => {
  test("SparkPost's classes, event types and field names", async () => {
    const app = await res.app();
    const catalog = await results<Catalog>(app.api("GET", "/webhooks/events/documentation?format=sparkpost"));
    const docs = checkShape(catalog);
    expect(Object.keys(catalog).sort()).toEqual(["message_event", "track_event", "unsubscribe_event"]);
    expect([...docs.keys()].sort()).toEqual(
      [
        "message_event/bounce",
        "message_event/delay",
        "message_event/delivery",
        "message_event/injection",
        "message_event/out_of_band",
        "message_event/policy_rejection",
        "message_event/spam_complaint",
        "track_event/click",
        "track_event/initial_open",
        "track_event/open",
        "unsubscribe_event/list_unsubscribe",
      ].sort(),
    );
    expect(catalog.message_event!.display_name).toBe("Message Events");
    expect(catalog.track_event!.display_name).toBe("Engagement Events");
    const click = docs.get("track_event/click")!.event;
    expect(click.target_link_url!.sampleValue).toBe("https://example.com/offer");
    expect(click.ip_address!.description).toContain("IP address");
    expect(click.user_agent).toBeDefined();
    expect(docs.get("message_event/delivery")!.event.ip_address).toBeDefined(); // the next hop's IP
    expect(docs.get("message_event/bounce")!.event.bounce_class!.sampleValue).toMatch(/^\d+$/);
    expect(docs.get("message_event/spam_complaint")!.event.fbtype).toBeDefined();
    // No hookd names leak in.
    const text = JSON.stringify(catalog);
    for (const hookdName of ['"url"', '"dsn"', '"relay"', '"mail_from"', '"custom"', '"mail_event"']) expect(text).not.toContain(hookdName);
  });

  test("each event's fields are the ones the samples endpoint sends in that format", async () => {
    const app = await res.app();
    const docs = checkShape(await results<Catalog>(app.api("GET", "/webhooks/events/documentation?format=sparkpost")));
    const samples = await results<{ msys: Record<string, Record<string, unknown>> }[]>(
      app.api("GET", "/webhooks/events/samples?format=sparkpost"),
    );
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) {
      const [cls, inner] = Object.entries(s.msys)[0]!;
      const doc = docs.get(`${cls}/${String(inner.type)}`);
      expect(doc, `${cls}/${String(inner.type)}`).toBeDefined();
      for (const field of Object.keys(inner)) expect(doc!.event[field], `${cls}/${String(inner.type)}: ${field}`).toBeDefined();
    }
  });
});

describe("GET /webhooks/events/documentation in the other formats", () => {
  test("sendgrid: SendGrid's event names and fields", async () => {
    const app = await res.app();
    const docs = checkShape(await results<Catalog>(app.api("GET", "/webhooks/events/documentation?format=sendgrid")));
    expect([...docs.keys()].map((k) => k.split("/")[1]).sort()).toEqual([
      "bounce",
      "click",
      "deferred",
      "delivered",
      "dropped",
      "open",
      "processed",
      "spamreport",
      "unsubscribe",
    ]);
    expect(docs.get("delivery_events/bounce")!.event.bounce_classification).toBeDefined();
    expect(docs.get("engagement_events/click")!.event.url).toBeDefined();
  });

  test("sfmc: ENS categories and types, SFMC's attribute names", async () => {
    const app = await res.app();
    const catalog = await results<Catalog>(app.api("GET", "/webhooks/events/documentation?format=sfmc"));
    const docs = checkShape(catalog);
    expect([...docs.keys()].sort()).toEqual(
      [
        "EngagementEvents/EmailClick",
        "EngagementEvents/EmailOpen",
        "EngagementEvents/EmailUnsubscribe",
        "TransactionalSendEvents/EmailBounced",
        "TransactionalSendEvents/EmailNotSent",
        "TransactionalSendEvents/EmailSent",
      ].sort(),
    );
    const bounced = docs.get("TransactionalSendEvents/EmailBounced")!.event;
    expect(Object.keys(bounced)).toEqual(
      expect.arrayContaining(["eventCategoryType", "timestampUTC", "compositeId", "info.bounceCode", "info.smtpReason"]),
    );
    expect(docs.get("EngagementEvents/EmailClick")!.event["info.contentLink"]).toBeDefined();
  });

  test("copernica: its calls, with the profile calls from custom events", async () => {
    const app = await res.app();
    const docs = checkShape(await results<Catalog>(app.api("GET", "/webhooks/events/documentation?format=copernica")));
    expect([...docs.keys()].sort()).toEqual([
      "webhooks/abuse",
      "webhooks/click",
      "webhooks/create",
      "webhooks/delete",
      "webhooks/delivery",
      "webhooks/failure",
      "webhooks/open",
      "webhooks/update",
    ]);
    expect(docs.get("webhooks/click")!.event.original!.sampleValue).toBe("https://example.com/offer");
    expect(docs.get("webhooks/create")!.event.fields!.sampleValue).toEqual({ name: "Alice", city: "Oslo" });
  });

  test("format=hookd is the default; an unknown format is a 400 naming it", async () => {
    const app = await res.app();
    const plain = await results<Catalog>(app.api("GET", "/webhooks/events/documentation"));
    expect(await results<Catalog>(app.api("GET", "/webhooks/events/documentation?format=hookd"))).toEqual(plain);
    expect(Object.keys(plain)).toContain("mail_event");
    const bad = await app.api("GET", "/webhooks/events/documentation?format=mailgun");
    expect(bad.status).toBe(400);
    expect((await errorBody(bad)).errors[0]!.field).toBe("format");
  });
});

describe("GET /webhooks/events/samples?format=copernica", () => {
  test("one form body per event, as each is POSTed; types without a call left out", async () => {
    const app = await res.app();
    const bodies = await results<string[]>(app.api("GET", "/webhooks/events/samples?events=delivery,delay,click,custom&format=copernica"));
    expect(bodies.map((b) => new URLSearchParams(b).get("type"))).toEqual(["delivery", "click", "update"]);
    expect(new URLSearchParams(bodies[2]!).get("fields[city]")).toBe("Oslo");
  });

  test("format=sfmc: the JSON array as it is POSTed", async () => {
    const app = await res.app();
    const samples = await results<{ eventCategoryType: string }[]>(
      app.api("GET", "/webhooks/events/samples?events=delivery,open&format=sfmc"),
    );
    expect(samples.map((s) => s.eventCategoryType)).toEqual(["TransactionalSendEvents.EmailSent", "EngagementEvents.EmailOpen"]);
  });
});
