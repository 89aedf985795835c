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

/**
 * A receiver as ENS's pages describe one: an unsigned request is only ever the verification
 * probe of a callback being created ({callbackId, verificationKey}, answered 200 and logged);
 * everything else must carry an x-sfmc-ens-signature that verifies with the key it was given.
 */
async function sfmcReceiver(key: () => string | null, probes: unknown[]): Promise<Receiver> {
  const r = await startReceiver();
  r.respondWith(async (req) => {
    const signature = req.headers["x-sfmc-ens-signature"];
    if (signature === undefined) {
      const body = req.json() as Record<string, unknown>;
      const isProbe = Object.keys(body).sort().join() === "callbackId,verificationKey" && typeof body.verificationKey === "string";
      if (isProbe) probes.push(body);
      return { status: isProbe ? 200 : 401 };
    }
    const k = key();
    return k !== null && (await sfmcReceiverAccepts({ body: req.body, signature, signatureKey: k })) ? { status: 202 } : { status: 401 };
  });
  return r;
}

const accepted = async (reqs: readonly RecordedRequest[], key: string) => {
  const out: boolean[] = [];
  for (const r of reqs)
    out.push(await sfmcReceiverAccepts({ body: r.body, signature: r.headers["x-sfmc-ens-signature"], signatureKey: key }));
  return out;
};

test("sfmc: created as ENS creates a callback; the key comes once, at create; every batch verifies with it; each type as ENS names it", async () => {
  let key: string | null = null;
  const probes: unknown[] = [];
  rx = await sfmcReceiver(() => key, probes);
  app = await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } });
  // The default verification (test_post) reaches the receiver with ENS's verification probe.
  const created = await results<{ id: string; signature_key?: string; secret: string }>(
    app.api("POST", "/webhooks", { body: { name: "ens", target: rx.url, events: ["*"], format: "sfmc" } }),
    201,
  );
  expect(probes).toEqual([{ callbackId: created.id, verificationKey: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
  expect(created.signature_key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  key = created.signature_key!; // kept where the receiver kept SFMC's signatureKey

  // Never shown again.
  const view = await app.api("GET", `/webhooks/${created.id}`);
  expect(await view.text()).not.toContain(key);
  const list = await app.api("GET", "/webhooks");
  expect(await list.text()).not.toContain(key);

  // validate sends a signed sample batch, which verifies too.
  const validated = await results<{ response: { status: number } }>(app.api("POST", `/webhooks/${created.id}/validate`, { body: {} }));
  expect(validated.response.status).toBe(202);

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
  expect(bounced.info).toEqual({
    to: mail.rcpt_to,
    subscriberKey: mail.rcpt_to,
    messageKey: mail.message_id,
    bounceCode: "HARD",
    bounceMessage: "550 5.1.1 User unknown",
    smtpReason: "5.1.1",
  });
  for (const n of got) expect(typeof n.timestampUTC).toBe("number");
});

test("sfmc: a regenerated key signs from then on; the old one no longer verifies", async () => {
  let key: string | null = null;
  rx = await sfmcReceiver(() => key, []);
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
  const hookd = await results<Record<string, unknown>>(
    app.api("POST", "/webhooks", { body: { name: "h", target: rx.url, events: ["delivery"], verification: "none" } }),
    201,
  );
  expect(hookd.signature_key).toBeUndefined();
});
