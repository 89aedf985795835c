// A receiver written for Salesforce Marketing Cloud's Event Notification Service, over real
// HTTP: it keeps the signature key it got when the callback was created and refuses any
// notification whose x-sfmc-ens-signature does not verify as SFMC's Notification Signing page
// says (test/helpers/sfmc-receiver.ts). hookd's webhook in sfmc format is that callback.
import { afterEach, expect, test } from "bun:test";
import { SFMC_EVENTS } from "../../src/deliver/formats/sfmc.ts";
import { EVENT_TYPES } from "../../src/events/schema.ts";
import { postEvents, results, startSteppedApp, type EventIn, type SteppedApp } from "../helpers/delivery.ts";
import { startReceiver, type Receiver, type RecordedRequest } from "../helpers/receiver.ts";
import { sfmcReceiverAccepts } from "../helpers/sfmc-receiver.ts";

let app: SteppedApp | null = null;
let rx: Receiver | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
  await rx?.stop();
  rx = null;
});

type Notification = { eventCategoryType: string; timestampUTC: number; compositeId: string; info: Record<string, unknown> };

/** The receiver: 401 unless the signature verifies with the key it was given at create. */
async function sfmcReceiver(key: () => string | null): Promise<Receiver> {
  const r = await startReceiver();
  r.respondWith(async (req) => ((await sfmcReceiverAccepts({ body: req.body, signature: req.headers["x-sfmc-ens-signature"], signatureKey: key() ?? "" })) ? { status: 202 } : { status: 401 }));
  return r;
}

const accepted = async (reqs: readonly RecordedRequest[], key: string) => {
  const out: boolean[] = [];
  for (const r of reqs) out.push(await sfmcReceiverAccepts({ body: r.body, signature: r.headers["x-sfmc-ens-signature"], signatureKey: key }));
  return out;
};

test("sfmc: the key comes once, at create; every request verifies with it, test POST included; each type as ENS names it", async () => {
  let key: string | null = null;
  rx = await sfmcReceiver(() => key);
  app = await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } });
  // The key is not known before create: the test POST fails the receiver's check, and nothing is created.
  const refused = await app.api("POST", "/webhooks", { body: { name: "ens", target: rx.url, events: ["*"], format: "sfmc" } });
  expect(refused.status).toBe(400);

  // A receiver that keeps the key it is handed, as one does with SFMC's createCallback response:
  // hookd's create answers only after the test POST, so this one accepts the first POST unchecked.
  rx.respondWith(async (req) =>
    key === null || (await sfmcReceiverAccepts({ body: req.body, signature: req.headers["x-sfmc-ens-signature"], signatureKey: key })) ? { status: 200 } : { status: 401 },
  );
  const created = await results<{ id: string; signature_key?: string; secret: string }>(
    app.api("POST", "/webhooks", { body: { name: "ens", target: rx.url, events: ["*"], format: "sfmc" } }),
    201,
  );
  expect(created.signature_key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  key = created.signature_key!;
  expect(await accepted(rx.requests.slice(-1), key)).toEqual([true]); // the test POST was signed with it

  // Never shown again.
  const view = await app.api("GET", `/webhooks/${created.id}`);
  expect(await view.text()).not.toContain(key);
  const list = await app.api("GET", "/webhooks");
  expect(await list.text()).not.toContain(key);

  const before = rx.requests.length;
  const mail = { message_id: "m1@example.com", rcpt_to: "alice@example.org", campaign_id: "makana-appt" };
  const sent: EventIn[] = EVENT_TYPES.filter((t) => t !== "custom").map((type, i) => ({ type, event_id: `e-${i}`, ...mail }));
  sent.find((e) => e.type === "click")!.url = "https://example.com/offer";
  Object.assign(sent.find((e) => e.type === "bounce")!, { dsn: "5.1.1", response: "550 5.1.1 User unknown", bounce_class: "unknown_user" });
  await postEvents(app, sent);
  await app.deliver();

  const batches = rx.requests.slice(before);
  expect(batches.length).toBeGreaterThan(0);
  expect(await accepted(batches, key)).toEqual(batches.map(() => true));
  for (const b of batches) expect(b.headers["content-type"]).toBe("application/json");
  const got = batches.flatMap((b) => b.json() as Notification[]);
  const carried = sent.filter((e) => SFMC_EVENTS[e.type as keyof typeof SFMC_EVENTS] !== null);
  expect(got.map((n) => n.compositeId)).toEqual(carried.map((e) => e.event_id!));
  expect(got.map((n) => n.eventCategoryType)).toEqual(carried.map((e) => SFMC_EVENTS[e.type as keyof typeof SFMC_EVENTS]!));
  const bounced = got.find((n) => n.eventCategoryType === "TransactionalSendEvents.EmailBounced")!;
  expect(bounced.info).toEqual({ to: mail.rcpt_to, subscriberKey: mail.rcpt_to, messageKey: mail.message_id, bounceCode: "HARD", bounceMessage: "550 5.1.1 User unknown", smtpReason: "5.1.1" });
  for (const n of got) expect(typeof n.timestampUTC).toBe("number");
});

test("sfmc: a regenerated key signs from then on; the old one no longer verifies", async () => {
  let key: string | null = null;
  rx = await sfmcReceiver(() => key);
  app = await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } });
  const created = await results<{ id: string; signature_key: string }>(
    app.api("POST", "/webhooks", { body: { name: "ens", target: rx.url, events: ["delivery"], format: "sfmc", verification: "none" } }),
    201,
  );
  const old = created.signature_key;
  const fresh = await results<{ signature_key: string }>(app.api("POST", `/webhooks/${created.id}/regenerate-signature-key`));
  expect(fresh.signature_key).not.toBe(old);
  key = fresh.signature_key;
  await postEvents(app, [{ type: "delivery", event_id: "d-1", rcpt_to: "a@example.org" }]);
  await app.deliver();
  expect(rx.requests).toHaveLength(1);
  expect(await accepted(rx.requests, fresh.signature_key)).toEqual([true]);
  expect(await accepted(rx.requests, old)).toEqual([false]);

  // Other formats get no key at create.
  const hookd = await results<Record<string, unknown>>(app.api("POST", "/webhooks", { body: { name: "h", target: rx.url, events: ["delivery"], verification: "none" } }), 201);
  expect(hookd.signature_key).toBeUndefined();
});
