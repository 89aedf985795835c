// SendGrid's per-type booleans ⇄ hookd's event types (src/api/sendgrid/event-settings.ts),
// the ecdsa_signed column's migration, and the contract check the other sendgrid tests use.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import {
  eventsWithSettings,
  EVENT_SETTINGS,
  settingsOfEvents,
  TYPES_OF_SETTING,
  UNMAPPED_SETTINGS,
} from "../../src/api/sendgrid/event-settings.ts";
import { migrate } from "../../src/store/sqlite/migrate.ts";
import { contract, expectContract } from "./sendgrid-helpers.ts";

const booleans = (schema: string) =>
  Object.entries((contract.components.schemas[schema] as { properties: Record<string, { type: string }> }).properties)
    .filter(([name, p]) => p.type === "boolean" && name !== "enabled")
    .map(([name]) => name)
    .sort();

describe("the settings table", () => {
  test("each SendGrid setting subscribes to the hookd types the sendgrid format posts under its event", () => {
    expect(TYPES_OF_SETTING).toEqual({
      processed: ["injection"],
      delivered: ["delivery"],
      deferred: ["delay"],
      bounce: ["bounce", "expired", "out_of_band"],
      dropped: ["policy_rejection"],
      open: ["open"],
      click: ["click"],
      unsubscribe: ["list_unsubscribe"],
      spam_report: ["spam_complaint"],
    });
    expect(UNMAPPED_SETTINGS).toEqual(["group_unsubscribe", "group_resubscribe", "account_status_change"]);
  });

  test("together they are exactly the document's per-type booleans", () => {
    const ours: string[] = [...EVENT_SETTINGS, ...UNMAPPED_SETTINGS].sort();
    expect(ours).toEqual(booleans("EventWebhookBaseResponseProps"));
    // The request schema lacks account_status_change (the include parameter's description turns it on by update).
    expect(ours.filter((s) => s !== "account_status_change")).toEqual(booleans("EventWebhookRequest"));
  });
});

describe("events → settings", () => {
  test("a setting is on when the webhook gets any of its types; * turns every one on", () => {
    expect(Object.values(settingsOfEvents(["*"])).every(Boolean)).toBe(true);
    expect(Object.values(settingsOfEvents([])).some(Boolean)).toBe(false);
    expect(settingsOfEvents(["expired", "open"])).toMatchObject({ bounce: true, open: true, delivered: false, click: false });
  });
});

describe("settings → events", () => {
  test("a new webhook: the types of every setting turned on", () => {
    expect(eventsWithSettings(null, { bounce: true, delivered: true, spam_report: true, open: false })).toEqual([
      "delivery",
      "bounce",
      "expired",
      "out_of_band",
      "spam_complaint",
    ]);
    expect(eventsWithSettings(null, {})).toEqual([]);
  });

  test("a change: off drops the setting's types, on adds them unless some are there already", () => {
    expect(eventsWithSettings(["delivery", "bounce", "expired"], { bounce: false })).toEqual(["delivery"]);
    // hookd's finer choice (bounce without expired) survives a read-modify-write that says bounce: true.
    expect(eventsWithSettings(["bounce"], { bounce: true, delivered: false })).toEqual(["bounce"]);
    expect(eventsWithSettings(["open"], { click: true })).toEqual(["open", "click"]);
  });

  test("* stays * while nothing is turned off, and becomes the explicit rest when something is", () => {
    expect(eventsWithSettings(["*"], { open: true, bounce: true })).toEqual(["*"]);
    expect(eventsWithSettings(["*"], { open: false, click: false })).toEqual([
      "injection",
      "delivery",
      "delay",
      "bounce",
      "expired",
      "policy_rejection",
      "out_of_band",
      "list_unsubscribe",
      "spam_complaint",
    ]);
  });
});

describe("migration: ecdsa_signed and sendgrid_settings", () => {
  test("webhooks from before keep signing (ecdsa_signed 1), with no SendGrid settings", () => {
    const db = new Database(":memory:");
    migrate(db, 4);
    db.run(
      `INSERT INTO webhooks (id, name, target, events, format, secret, signing_private_key, signing_public_key, created_at, updated_at)
       VALUES ('w1', 'old', 'https://example.com/h', '["delivery"]', 'sendgrid', 'whsec_x', 'k', 'p', 1, 1)`,
    );
    expect(migrate(db, 5)).toEqual([5]);
    expect(db.query("SELECT ecdsa_signed, sendgrid_settings FROM webhooks WHERE id = 'w1'").get()).toEqual({
      ecdsa_signed: 1,
      sendgrid_settings: null,
    });
    db.close();
  });
});

describe("the contract check itself", () => {
  const ONE = "/v3/user/webhooks/event/settings/{id}";
  const ok = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

  test("takes a body the document describes", async () => {
    expect(await expectContract(ok({ id: "a", enabled: true, url: "https://x", delivered: false }), "GET", ONE)).toMatchObject({ id: "a" });
  });

  test("refuses a wrong type, a property the schema does not list, an undocumented status and a body on 204", async () => {
    await expect(expectContract(ok({ enabled: "yes" }), "GET", ONE)).rejects.toThrow(/must be boolean/);
    await expect(expectContract(ok({ enabled: true, secret: "x" }), "GET", ONE)).rejects.toThrow(/additional properties/);
    // GET one's schema has no dates (EventWebhookNoDatesResponse).
    await expect(expectContract(ok({ created_date: "2024-01-01T00:00:00Z" }), "GET", ONE)).rejects.toThrow(/additional properties/);
    await expect(expectContract(ok({ created_date: "yesterday" }), "PATCH", ONE)).rejects.toThrow(/date-time/);
    await expect(expectContract(ok({}, 409), "GET", ONE)).rejects.toThrow(/not a documented answer/);
    await expect(expectContract(new Response("{}", { status: 204 }), "DELETE", ONE)).rejects.toThrow();
  });
});
