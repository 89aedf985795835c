// What the batcher does per format and per custom event name: Copernica's batches hold one
// event whatever batch_max_events says, ENS's at most 1,000; subscriptions by custom event
// name are decided from the light columns.
import { describe, expect, test } from "bun:test";
import { batchLimits, compileFilter } from "../../src/deliver/subscription.ts";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../../src/webhooks/model.ts";

const defaults = { batch_max_events: 10_000, batch_max_bytes: 5_000_000, batch_max_wait: 1000 };
const hook = (format: WebhookFormat, batchMaxEvents: number | null = null) => ({
  format,
  batchMaxEvents,
  batchMaxBytes: null,
  batchMaxWait: null,
});

describe("batchLimits per format", () => {
  test("copernica: one event per batch, whatever batch_max_events says; sfmc: at most 1,000; the others as configured", () => {
    expect(batchLimits(hook("copernica"), defaults).maxEvents).toBe(1);
    expect(batchLimits(hook("copernica", 500), defaults).maxEvents).toBe(1);
    expect(batchLimits(hook("sfmc"), defaults).maxEvents).toBe(1000);
    expect(batchLimits(hook("sfmc", 100), defaults).maxEvents).toBe(100);
    for (const f of ["hookd", "sendgrid", "sparkpost"] as const) expect(batchLimits(hook(f), defaults).maxEvents, f).toBe(10_000);
    for (const f of WEBHOOK_FORMATS) expect(batchLimits(hook(f), defaults).maxBytes, f).toBeGreaterThan(0);
  });
});

describe("compileFilter and custom event names", () => {
  const row = (type: string, custom_type: string | null = null) => ({
    type,
    custom_type,
    host: "mx1",
    mail_from: null,
    rcpt_to: "a@example.org",
    notice: null,
  });

  test("a name matches only custom events of that name; custom matches them all; * everything", () => {
    const named = compileFilter(["profile.created", "delivery"], null);
    expect(named(row("custom", "profile.created"))).toBe(true);
    expect(named(row("custom", "profile.updated"))).toBe(false);
    expect(named(row("delivery"))).toBe(true);
    expect(named(row("bounce"))).toBe(false);
    const all = compileFilter(["custom"], null);
    expect(all(row("custom", "profile.updated"))).toBe(true);
    expect(all(row("delivery"))).toBe(false);
    expect(compileFilter(["*"], null)(row("custom", "x"))).toBe(true);
  });

  test("a custom event named like a hookd type is reached only through custom", () => {
    const f = compileFilter(["delivery"], null);
    expect(f(row("custom", "delivery"))).toBe(false);
    expect(f(row("delivery"))).toBe(true);
  });

  test("copernica carries its profile names only, even under * or custom", () => {
    for (const types of [["*"], ["custom"]]) {
      const f = compileFilter(types, null, "copernica");
      expect(f(row("custom", "profile.created"))).toBe(true);
      expect(f(row("custom", "subprofile.deleted"))).toBe(true);
      expect(f(row("custom", "order.shipped"))).toBe(false);
      expect(f(row("delay"))).toBe(false);
    }
    expect(compileFilter(["*"], null, "sfmc")(row("custom", "profile.created"))).toBe(false);
  });
});
