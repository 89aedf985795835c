// Verification beyond the test POST: the handshake (Salesforce Marketing Cloud style:
// hookd POSTs {id, callbackKey, secretToken}, the owner sends them back to /webhooks/verify)
// and dns_txt (Copernica style: a TXT record hookd-verification=<token> on the target's
// domain, looked up through a DNS server on 127.0.0.1 run by the test). Until verified a
// webhook is pending_verification and its events wait; once verified they arrive.
import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { ConfigSchema } from "../../src/config/schema.ts";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import {
  createWebhook,
  getWebhook,
  postEvents,
  receivedIds,
  results,
  startDeliveryApp,
  startSteppedApp,
  type DeliveryApp,
} from "../helpers/delivery.ts";
import { startDnsServer, TYPE_TXT } from "../helpers/dns-server.ts";
import { eventually } from "../helpers/eventually.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";

const t = testResources();

type Created = {
  id: string;
  secret: string;
  links: unknown[];
  verification?: { type: string; status: string; txt_record?: { names: string[]; value: string } };
};
type Handshake = { id: string; callbackKey: string; secretToken: string };

const EVENTS = [
  { type: "delivery", event_id: "queued-1", rcpt_to: "alice@example.org" },
  { type: "bounce", event_id: "queued-2", rcpt_to: "bob@example.org", dsn: "5.1.1" },
];
/** Far past batch_max_wait (50 ms): any batch of the events is due. */
const LATER_MS = 1000;

async function webhookCount(a: DeliveryApp): Promise<number> {
  return (await results<unknown[]>(a.api("GET", "/webhooks"))).length;
}

describe("handshake verification", () => {
  /** Delivery stepped by the test: what a pass would send, it has sent when after() returns. */
  async function setup() {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    return { rx, app };
  }

  test("pending until the three values come back: events wait, wrong values are refused, the right ones activate and deliver", async () => {
    const { rx, app } = await setup();
    const created = await results<Created>(
      app.api("POST", "/webhooks", { body: { name: "sfmc", target: `${rx.url}/sfmc`, events: ["*"], verification: "handshake" } }),
      201,
    );
    expect(created.verification).toEqual({ type: "handshake", status: "pending_verification" });

    // The handshake POST: {id, callbackKey, secretToken}, signed like every request.
    expect(rx.requests).toHaveLength(1);
    const hs = rx.requests[0]!;
    expect(hs.method).toBe("POST");
    expect(hs.path).toBe("/sfmc");
    const sent = hs.json() as Handshake;
    expect(Object.keys(sent).sort()).toEqual(["callbackKey", "id", "secretToken"]);
    expect(sent.id).toBe(created.id);
    expect(sent.callbackKey.length).toBeGreaterThanOrEqual(16);
    expect(sent.secretToken.length).toBeGreaterThanOrEqual(16);
    new Webhook(created.secret).verify(hs.body, hs.headers);

    expect((await getWebhook(app, created.id)).status).toBe("pending_verification");

    // Events while pending: stored and counted against the webhook, not sent.
    await postEvents(app, EVENTS);
    await app.after(LATER_MS);
    expect(rx.requests).toHaveLength(1);
    const pending = await getWebhook(app, created.id);
    expect(pending.status).toBe("pending_verification");
    expect(pending.queue_depth).toBe(2);

    // Wrong values: 400 verification_failed, nothing changes.
    const wrongs: Record<string, unknown>[] = [
      { id: created.id, callbackKey: sent.callbackKey, secretToken: `${sent.secretToken}x` },
      { id: created.id, callbackKey: "not-the-key", secretToken: sent.secretToken },
      { id: created.id, callbackKey: sent.secretToken, secretToken: sent.callbackKey },
    ];
    for (const body of wrongs) {
      const res = await app.api("POST", "/webhooks/verify", { body });
      expect(res.status).toBe(400);
      expect((await errorBody(res)).errors[0]!.code).toBe("verification_failed");
    }
    const missing = await app.api("POST", "/webhooks/verify", { body: { id: created.id, callbackKey: sent.callbackKey } });
    expect(missing.status).toBe(400);
    expect((await errorBody(missing)).errors[0]).toMatchObject({ code: "required", field: "secretToken" });
    const unknownId = await app.api("POST", "/webhooks/verify", { body: { ...sent, id: "01nosuchwebhook" } });
    expect(unknownId.status).toBe(404);
    expect((await getWebhook(app, created.id)).status).toBe("pending_verification");
    await app.after(LATER_MS);
    expect(rx.requests).toHaveLength(1);

    // The right values: active, and what queued since creation arrives.
    const ok = await results<{ id: string; status: string }>(app.api("POST", "/webhooks/verify", { body: sent }));
    expect(ok).toEqual({ id: created.id, status: "active" });
    expect((await getWebhook(app, created.id)).status).toBe("active");
    await app.deliver();
    expect(receivedIds(rx.requests.slice(1))).toEqual(["queued-1", "queued-2"]);
    for (const r of rx.requests.slice(1)) new Webhook(created.secret).verify(r.body, r.headers);

    // A second verify has nothing left to verify.
    const again = await app.api("POST", "/webhooks/verify", { body: sent });
    expect(again.status).toBe(409);
    expect((await errorBody(again)).errors[0]!.code).toBe("conflict");
  });

  test("a handshake target answering 500: create fails with 400 and nothing is stored", async () => {
    const { rx, app } = await setup();
    rx.respondWith({ status: 500, body: "nope" });
    const res = await app.api("POST", "/webhooks", {
      body: { name: "sfmc", target: `${rx.url}/sfmc`, events: ["*"], verification: "handshake" },
    });
    expect(res.status).toBe(400);
    const err = (await errorBody(res)).errors[0]!;
    expect(err).toMatchObject({ code: "verification_failed", field: "target" });
    expect(err.message).toContain("500");
    expect(rx.requests).toHaveLength(1);
    expect(Object.keys(rx.requests[0]!.json() as object).sort()).toEqual(["callbackKey", "id", "secretToken"]);
    expect(await webhookCount(app)).toBe(0);
  });

  test("verify needs webhooks:write and a webhook that waits for it", async () => {
    const { rx, app } = await setup();
    const plain = await createWebhook(app, `${rx.url}/plain`); // verification none
    const res = await app.api("POST", "/webhooks/verify", { body: { id: plain.id, callbackKey: "a", secretToken: "b" } });
    expect(res.status).toBe(409);
    const unauth = await app.api("POST", "/webhooks/verify", { body: { id: plain.id, callbackKey: "a", secretToken: "b" }, key: null });
    expect(unauth.status).toBe(401);
    const reader = (await app.hookd.store.keys.create("reader", ["webhooks:read"], Date.now())).key;
    const forbidden = await app.api("POST", "/webhooks/verify", {
      body: { id: plain.id, callbackKey: "a", secretToken: "b" },
      key: reader,
    });
    expect(forbidden.status).toBe(403);
    expect((await errorBody(forbidden)).errors[0]!.code).toBe("forbidden");
    const extra = await app.api("POST", "/webhooks/verify", { body: { id: plain.id, callbackKey: "a", secretToken: "b", sneaky: 1 } });
    expect(extra.status).toBe(400);
    expect((await errorBody(extra)).errors[0]).toMatchObject({ code: "unknown_field", field: "sneaky" });
  });
});

describe("dns_txt verification", () => {
  /** hookd with [verification] from TOML-like values, parsed by the real config schema. */
  async function setup(dnsInterval: string) {
    const dns = t.track(await startDnsServer());
    const rx = await t.receiver();
    const verification = ConfigSchema.parse({ verification: { dns_servers: [dns.address], dns_interval: dnsInterval } }).verification;
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50 }, verification } }));
    // dns_txt needs a host name: localhost (127.0.0.1 in /etc/hosts) for the POSTs, while
    // its TXT lookup goes to the test's DNS server.
    const target = `http://localhost:${rx.port}/copernica`;
    return { dns, rx, app, target };
  }

  const createDnsTxt = (a: DeliveryApp, target: string) =>
    results<Created>(a.api("POST", "/webhooks", { body: { name: "copernica", target, events: ["*"], verification: "dns_txt" } }), 201);

  test("pending until the TXT record is published; the background check then activates it and queued events arrive", async () => {
    const { dns, rx, app, target } = await setup("200ms");
    const created = await createDnsTxt(app, target);
    const txt = created.verification!.txt_record!;
    expect(created.verification).toMatchObject({ type: "dns_txt", status: "pending_verification" });
    expect(txt.names).toEqual(["localhost"]);
    expect(txt.value).toMatch(/^hookd-verification=[A-Za-z0-9_-]{16,}$/);
    expect(rx.requests).toHaveLength(0); // no test POST, no handshake

    const view = await results<{ status: string; dns_txt_record?: { names: string[]; value: string } }>(
      app.api("GET", `/webhooks/${created.id}`),
    );
    expect(view.status).toBe("pending_verification");
    expect(view.dns_txt_record).toEqual(txt);

    await postEvents(app, EVENTS);
    // Other TXT records on the name (an SPF record, somebody else's token) do not count.
    dns.setTxt("localhost", ["v=spf1 -all", "hookd-verification=someone-elses-token"]);
    const before = dns.queries.length;
    // Several background checks reach the test's DNS server and find nothing.
    await eventually(() => dns.queries.filter((q) => q.name === "localhost" && q.type === TYPE_TXT).length >= before + 3, {
      timeoutMs: 5000,
    });
    expect((await getWebhook(app, created.id)).status).toBe("pending_verification");
    expect(rx.requests).toHaveLength(0);

    dns.setTxt("localhost", ["v=spf1 -all", txt.value]);
    await eventually(async () => (await getWebhook(app, created.id)).status === "active", { timeoutMs: 5000 });
    await rx.waitFor(() => receivedIds(rx.requests).length >= 2);
    expect(receivedIds(rx.requests)).toEqual(["queued-1", "queued-2"]);
    expect(rx.requests[0]!.path).toBe("/copernica");
    const after = await results<{ dns_txt_record?: unknown }>(app.api("GET", `/webhooks/${created.id}`));
    expect(after.dns_txt_record).toBeUndefined();
  });

  test("POST /webhooks/verify {id}: 400 before the record is published, 200 after", async () => {
    // A long interval: the background check runs once ~1 s after start, then not for an hour,
    // so here it is the verify call that finds the record.
    const { dns, rx, app, target } = await setup("1h");
    const created = await createDnsTxt(app, target);
    const value = created.verification!.txt_record!.value;
    await postEvents(app, EVENTS);

    const early = await app.api("POST", "/webhooks/verify", { body: { id: created.id } });
    expect(early.status).toBe(400);
    expect((await errorBody(early)).errors[0]).toMatchObject({ code: "verification_failed", field: "target" });
    const txtQueries = () => dns.queries.filter((q) => q.name === "localhost" && q.type === TYPE_TXT).length;
    expect(txtQueries()).toBeGreaterThanOrEqual(1);

    // Let the one early background check pass (it finds nothing) before publishing: one
    // TXT query came from the verify call, one more is the background check's.
    await eventually(() => txtQueries() >= 2, { timeoutMs: 5000 });
    expect((await getWebhook(app, created.id)).status).toBe("pending_verification");
    expect(rx.requests).toHaveLength(0);

    dns.setTxt("localhost", [value]);
    const ok = await results<{ id: string; status: string }>(app.api("POST", "/webhooks/verify", { body: { id: created.id } }));
    expect(ok).toEqual({ id: created.id, status: "active" });
    expect((await getWebhook(app, created.id)).status).toBe("active");
    await rx.waitFor(() => receivedIds(rx.requests).length >= 2);
    expect(receivedIds(rx.requests)).toEqual(["queued-1", "queued-2"]);
  });

  test("a target given as an IP address cannot be verified by DNS: 400, nothing stored", async () => {
    const { rx, app } = await setup("200ms");
    const res = await app.api("POST", "/webhooks", { body: { name: "ip", target: `${rx.url}/x`, events: ["*"], verification: "dns_txt" } });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors[0]).toMatchObject({ code: "invalid_value", field: "target" });
    expect(await webhookCount(app)).toBe(0);
  });
});
