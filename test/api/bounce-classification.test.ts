// A bounce posted to POST /events with its dsn and response but no bounce_class is
// classified as a logged one would be, so a sendgrid-format receiver gets SendGrid's
// bounce_classification for it instead of "Unclassified".
import { describe, expect, test } from "bun:test";
import { createWebhook, eventsOf, postEvents, results, startDeliveryApp } from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

describe("bounces posted without bounce_class", () => {
  test("stored with the classifier's bounce_class; sent in sendgrid format with the matching bounce_classification", async () => {
    const rx = await t.receiver();
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50 } } }));
    await createWebhook(app, `${rx.url}/sg`, { format: "sendgrid", events: ["bounce"] });
    await postEvents(app, [
      {
        type: "bounce",
        event_id: "cls-1",
        rcpt_to: "gone@example.org",
        dsn: "5.1.1",
        response: "550 5.1.1 <gone@example.org>: User unknown",
      },
      { type: "bounce", event_id: "cls-2", rcpt_to: "full@example.org", dsn: "5.2.2", response: "552 5.2.2 Mailbox full" },
      { type: "bounce", event_id: "cls-3", rcpt_to: "spam@example.org", response: "550 5.7.1 Message rejected as spam" },
      { type: "bounce", event_id: "cls-4", rcpt_to: "odd@example.org", dsn: "5.3.0", response: "550 5.3.0 Other mail system problem" },
      { type: "bounce", event_id: "cls-5", rcpt_to: "kept@example.org", dsn: "5.1.1", bounce_class: "content" },
    ]);

    const stored = await results<{ event_id: string; bounce_class?: string }[]>(app.api("GET", "/events?type=bounce"));
    const byId = Object.fromEntries(stored.map((e) => [e.event_id, e.bounce_class]));
    expect(byId).toEqual({ "cls-1": "unknown_user", "cls-2": "quota", "cls-3": "spam", "cls-4": "hard", "cls-5": "content" });

    await rx.waitFor((reqs) => reqs.flatMap((r) => eventsOf(r)).length >= 5);
    const sent = rx.requests.flatMap(
      (r) => eventsOf(r) as unknown as { sg_event_id: string; type: string; bounce_classification: string }[],
    );
    const classified = Object.fromEntries(sent.map((e) => [e.sg_event_id, [e.type, e.bounce_classification]]));
    expect(classified).toEqual({
      "cls-1": ["bounce", "Invalid Address"],
      "cls-2": ["blocked", "Mailbox Unavailable"],
      "cls-3": ["blocked", "Reputation"],
      "cls-4": ["bounce", "Invalid Address"],
      "cls-5": ["blocked", "Content"],
    });
  });
});
