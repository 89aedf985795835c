// The test POST at create (and validate) sends a sample of what the webhook subscribes to
// and its format sends, not a delivery to a webhook that wants only opens.
import { describe, expect, test } from "bun:test";
import { sendTest } from "../../src/webhooks/actions.ts";
import { createWebhook } from "../../src/webhooks/service.ts";
import { testSamples } from "../../src/webhooks/test-samples.ts";
import { testResources } from "../helpers/hookd.ts";
import { harnesses, T0 } from "./harness.ts";

const t = testResources();
const harness = harnesses();
const opts = { host: "h", now: T0 };
const types = (w: Parameters<typeof testSamples>[0], max?: number) =>
  testSamples(w, opts, max).map((e) => ("custom_type" in e ? `custom:${e.custom_type}` : e.type));

describe("testSamples", () => {
  test("the first subscribed type; * is a delivery; a custom name is a custom event of that name", () => {
    expect(types({ events: ["open"], format: "hookd" })).toEqual(["open"]);
    expect(types({ events: ["click", "open"], format: "hookd" })).toEqual(["click"]);
    expect(types({ events: ["*"], format: "sendgrid" })).toEqual(["delivery"]);
    expect(types({ events: ["profile.created"], format: "hookd" })).toEqual(["custom:profile.created"]);
    expect(types({ events: ["custom"], format: "hookd" })).toEqual(["custom:profile.updated"]);
  });

  test("skips types the format does not send", () => {
    // Copernica has no injection or delay calls; SendGrid no custom events.
    expect(types({ events: ["injection", "delay", "open"], format: "copernica" })).toEqual(["open"]);
    expect(types({ events: ["profile.deleted"], format: "copernica" })).toEqual(["custom:profile.deleted"]);
    // Nothing carried at all: the first entry still (the webhook receives nothing either way).
    expect(types({ events: ["injection"], format: "copernica" })).toEqual(["injection"]);
  });

  test("validate: up to `max` samples, in the subscription's order", () => {
    expect(types({ events: ["bounce", "open", "click"], format: "hookd" }, 5)).toEqual(["bounce", "open", "click"]);
    expect(types({ events: ["bounce", "open", "click"], format: "hookd" }, 2)).toEqual(["bounce", "open"]);
  });
});

describe("the test POST at create and validate, over HTTP", () => {
  test("a webhook subscribed only to open gets an open sample; in sendgrid format, SendGrid's open", async () => {
    const h = harness();
    const rx = await t.receiver();
    await createWebhook(h, { name: "opens", target: `${rx.url}/opens`, events: ["open"] });
    expect((rx.requests[0]!.json() as { type: string; event_id: string }[]).map((e) => [e.type, e.event_id])).toEqual([
      ["open", "sample-open-0"],
    ]);

    await createWebhook(h, { name: "sg opens", target: `${rx.url}/sg`, events: ["open"], format: "sendgrid" });
    expect((rx.requests[1]!.json() as { event: string }[]).map((e) => e.event)).toEqual(["open"]);

    const { webhook } = await createWebhook(h, {
      name: "cop",
      target: `${rx.url}/cop`,
      events: ["injection", "click"],
      format: "copernica",
    });
    expect(new URLSearchParams(rx.requests[2]!.body).get("type")).toBe("click");
    await sendTest(h, webhook.id);
    expect(new URLSearchParams(rx.requests[3]!.body).get("type")).toBe("click");
  });
});
