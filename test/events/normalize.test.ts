// normalizeEvent: what a stored event must have, and a bounce_class for failures posted
// with their dsn or response but without one (the classifier of the MTA logs decides).
import { describe, expect, test } from "bun:test";
import { normalizeEvent } from "../../src/events/normalize.ts";
import type { EventInput } from "../../src/events/schema.ts";

const d = { host: "mx.test", now: Date.UTC(2026, 10, 23, 13, 0, 0) };
const norm = (e: Record<string, unknown>) => normalizeEvent(e as EventInput, d) as Record<string, unknown>;

describe("normalizeEvent", () => {
  test("fills event_id, timestamp (UTC) and host, in that order", () => {
    const e = norm({ type: "delivery", rcpt_to: "a@example.org", timestamp: "2026-11-23T14:00:00+01:00" });
    expect(Object.keys(e).slice(0, 4)).toEqual(["event_id", "type", "timestamp", "host"]);
    expect(e).toMatchObject({ type: "delivery", timestamp: "2026-11-23T13:00:00.000Z", host: "mx.test" });
  });

  test("a failure with dsn or response and no bounce_class is classified", () => {
    expect(norm({ type: "bounce", dsn: "5.1.1" }).bounce_class).toBe("unknown_user");
    expect(norm({ type: "bounce", response: "552 5.2.2 Mailbox full" }).bounce_class).toBe("quota");
    expect(norm({ type: "delay", dsn: "4.4.1", response: "connect to mx.example.org: Connection timed out" }).bounce_class).toBe("network");
    expect(norm({ type: "expired", response: "message expired" }).bounce_class).toBe("undetermined");
    expect(
      norm({ type: "policy_rejection", response: "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org" }).bounce_class,
    ).toBe("block");
    expect(norm({ type: "out_of_band", dsn: "5.0.0", response: "550 5.1.2 Host unknown" }).bounce_class).toBe("unknown_domain");
    expect(norm({ type: "bounce", dsn: "5.9.9" }).bounce_class).toBe("hard");
  });

  test("a given bounce_class is kept; nothing to classify from, or no failure, gets none", () => {
    expect(norm({ type: "bounce", dsn: "5.1.1", bounce_class: "policy" }).bounce_class).toBe("policy");
    expect(norm({ type: "bounce", rcpt_to: "a@example.org" })).not.toHaveProperty("bounce_class");
    expect(norm({ type: "delivery", dsn: "2.0.0", response: "250 2.0.0 OK" })).not.toHaveProperty("bounce_class");
  });
});
