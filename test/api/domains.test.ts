// Verified domains (Copernica's model): one TXT record on a domain's own name, looked up
// through a DNS server on 127.0.0.1 run by the test, and every dns_txt webhook on the domain
// or a subdomain is active — at create once the domain is verified, or when it verifies
// (POST /domains/{domain}/verify or the periodic check). A sibling like evil-example.com is
// no subdomain of example.com.
import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { getWebhook, postEvents, receivedIds, results, startDeliveryApp, type DeliveryApp } from "../helpers/delivery.ts";
import { startDnsServer, TYPE_TXT } from "../helpers/dns-server.ts";
import { eventually } from "../helpers/eventually.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";

const t = testResources();

type Domain = {
  domain: string;
  status: "pending" | "verified";
  txt_record: { name: string; value: string };
  created: string;
  verified: string | null;
  last_checked: string | null;
};
type Created = { id: string; verification?: { type: string; status: string; txt_record?: { names: string[]; value: string } } };

async function setup(dnsInterval = "1h") {
  const dns = t.track(await startDnsServer());
  const verification = ConfigSchema.parse({ verification: { dns_servers: [dns.address], dns_interval: dnsInterval } }).verification;
  const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50 }, verification } }));
  return { dns, app };
}

const addDomain = (app: DeliveryApp, domain: string) => results<Domain>(app.api("POST", "/domains", { body: { domain } }), 201);
const dnsTxtWebhook = (app: DeliveryApp, target: string) =>
  results<Created>(app.api("POST", "/webhooks", { body: { name: target, target, events: ["*"], verification: "dns_txt" } }), 201);
const statusOf = async (app: DeliveryApp, id: string) => (await getWebhook(app, id)).status;

describe("POST, GET, DELETE /domains", () => {
  test("add: 201 pending with the TXT record to publish; listed; a second add is 409; bad names are 400 naming domain", async () => {
    const { app } = await setup();
    const d = await addDomain(app, "Example.COM.");
    expect(d).toMatchObject({ domain: "example.com", status: "pending", verified: null, last_checked: null });
    expect(d.txt_record.name).toBe("example.com");
    expect(d.txt_record.value).toMatch(/^hookd-verification=[A-Za-z0-9_-]{16,}$/);
    expect(Number.isNaN(Date.parse(d.created))).toBe(false);

    await addDomain(app, "bücher.example");
    const listed = await results<Domain[]>(app.api("GET", "/domains"));
    expect(listed.map((x) => [x.domain, x.status])).toEqual([
      ["example.com", "pending"],
      ["xn--bcher-kva.example", "pending"],
    ]);

    const again = await app.api("POST", "/domains", { body: { domain: "example.com" } });
    expect(again.status).toBe(409);
    expect((await errorBody(again)).errors[0]).toMatchObject({ code: "conflict", field: "domain" });

    for (const bad of ["https://example.com/", "192.0.2.1", "-bad.example", "a..b", "exa mple.com", "user@example.com"]) {
      const res = await app.api("POST", "/domains", { body: { domain: bad } });
      expect(`${bad}: ${res.status}`).toBe(`${bad}: 400`);
      expect((await errorBody(res)).errors[0]).toMatchObject({ code: "invalid_value", field: "domain" });
    }
    const extra = await app.api("POST", "/domains", { body: { domain: "x.example", verify: true } });
    expect(extra.status).toBe(400);
    expect((await errorBody(extra)).errors[0]).toMatchObject({ code: "unknown_field", field: "verify" });

    const del = await app.api("DELETE", "/domains/example.com");
    expect(del.status).toBe(204);
    expect((await results<Domain[]>(app.api("GET", "/domains"))).map((x) => x.domain)).toEqual(["xn--bcher-kva.example"]);
    const gone = await app.api("DELETE", "/domains/example.com");
    expect(gone.status).toBe(404);
    expect((await errorBody(gone)).errors[0]).toMatchObject({ code: "not_found", field: "domain" });
  });

  test("scopes: webhooks:read lists, webhooks:write changes; no key is 401", async () => {
    const { app } = await setup();
    const reader = (await app.hookd.store.keys.create("reader", ["webhooks:read"], Date.now())).key;
    expect((await app.api("GET", "/domains", { key: reader })).status).toBe(200);
    const post = await app.api("POST", "/domains", { body: { domain: "example.com" }, key: reader });
    expect(post.status).toBe(403);
    expect((await app.api("POST", "/domains/example.com/verify", { key: reader })).status).toBe(403);
    expect((await app.api("DELETE", "/domains/example.com", { key: reader })).status).toBe(403);
    expect((await app.api("GET", "/domains", { key: null })).status).toBe(401);
  });
});

describe("POST /domains/{domain}/verify", () => {
  test("a missing TXT record is a 400 saying what DNS answered and what to publish; nothing changes", async () => {
    const { dns, app } = await setup();
    const d = await addDomain(app, "example.com");
    const res = await app.api("POST", "/domains/example.com/verify");
    expect(res.status).toBe(400);
    const err = (await errorBody(res)).errors[0]!;
    expect(err).toMatchObject({ code: "verification_failed", field: "domain" });
    expect(err.message).toContain("example.com has no TXT records");
    expect(err.message).toContain(d.txt_record.value);
    expect(dns.queries.some((q) => q.name === "example.com" && q.type === TYPE_TXT)).toBe(true);

    // Other TXT records (SPF, someone else's token) are named as not the one.
    dns.setTxt("example.com", ["v=spf1 -all", "hookd-verification=someone-elses"]);
    const other = await app.api("POST", "/domains/example.com/verify");
    expect(other.status).toBe(400);
    expect((await errorBody(other)).errors[0]!.message).toContain("example.com has 2 TXT records, none of them the TXT record");
    const [after] = await results<Domain[]>(app.api("GET", "/domains"));
    expect(after).toMatchObject({ status: "pending", verified: null });
    expect(after!.last_checked).not.toBeNull();

    const unknown = await app.api("POST", "/domains/nowhere.example/verify");
    expect(unknown.status).toBe(404);
  });

  test("one verified domain activates the pending dns_txt webhooks on it and on subdomains, not on a sibling; later ones are active at once", async () => {
    const { dns, app } = await setup();
    const apex = await dnsTxtWebhook(app, "http://example.com/hooks");
    const sub = await dnsTxtWebhook(app, "https://hooks.eu.example.com:8443/copernica");
    const sibling = await dnsTxtWebhook(app, "http://evil-example.com/hooks");
    const suffix = await dnsTxtWebhook(app, "http://example.com.evil.org/hooks");
    for (const w of [apex, sub, sibling, suffix]) expect(w.verification).toMatchObject({ type: "dns_txt", status: "pending_verification" });

    const d = await addDomain(app, "example.com");
    dns.setTxt("example.com", ["v=spf1 -all", d.txt_record.value]);
    const verified = await results<Domain>(app.api("POST", "/domains/example.com/verify"));
    expect(verified).toMatchObject({ domain: "example.com", status: "verified" });
    expect(verified.verified).not.toBeNull();

    expect(await statusOf(app, apex.id)).toBe("active");
    expect(await statusOf(app, sub.id)).toBe("active");
    expect(await statusOf(app, sibling.id)).toBe("pending_verification");
    expect(await statusOf(app, suffix.id)).toBe("pending_verification");
    const view = await results<{ dns_txt_record?: unknown }>(app.api("GET", `/webhooks/${sub.id}`));
    expect(view.dns_txt_record).toBeUndefined();

    // New dns_txt webhooks on the domain need nothing more; one beside it still does.
    const later = await dnsTxtWebhook(app, "http://mail.example.com/in");
    expect(later.verification).toBeUndefined();
    expect(await statusOf(app, later.id)).toBe("active");
    const outside = await dnsTxtWebhook(app, "http://evil-example.com/other");
    expect(outside.verification).toMatchObject({ type: "dns_txt", status: "pending_verification" });

    // Moving the sibling's target onto the domain activates it.
    const moved = await results<{ status: string }>(
      app.api("PATCH", `/webhooks/${sibling.id}`, { body: { target: "http://x.example.com/hooks" } }),
    );
    expect(moved.status).toBe("active");

    // Verifying again is a no-op 200; removing the domain leaves its webhooks active, and new ones pending.
    expect((await results<Domain>(app.api("POST", "/domains/EXAMPLE.com/verify"))).status).toBe("verified");
    expect((await app.api("DELETE", "/domains/example.com")).status).toBe(204);
    expect(await statusOf(app, apex.id)).toBe("active");
    const afterRemoval = await dnsTxtWebhook(app, "http://new.example.com/in");
    expect(afterRemoval.verification).toMatchObject({ type: "dns_txt", status: "pending_verification" });
  });

  test("the periodic check verifies a domain by itself; the pending webhook on it becomes active and its queued events arrive", async () => {
    const { dns, app } = await setup("200ms");
    const rx = await t.receiver();
    // localhost resolves to 127.0.0.1 for the POSTs; its TXT lookup goes to the test's server.
    const hook = await dnsTxtWebhook(app, `http://localhost:${rx.port}/copernica`);
    await postEvents(app, [{ type: "delivery", event_id: "dom-1", rcpt_to: "ada@example.org" }]);
    const d = await addDomain(app, "localhost");
    const lookups = () => dns.queries.filter((q) => q.name === "localhost" && q.type === TYPE_TXT).length;
    const before = lookups();
    await eventually(() => lookups() >= before + 2, { timeoutMs: 5000 });
    expect(await statusOf(app, hook.id)).toBe("pending_verification");
    expect(rx.requests).toHaveLength(0);

    dns.setTxt("localhost", [d.txt_record.value]);
    await eventually(async () => (await results<Domain[]>(app.api("GET", "/domains")))[0]!.status === "verified", { timeoutMs: 5000 });
    expect(await statusOf(app, hook.id)).toBe("active");
    await rx.waitFor(() => receivedIds(rx.requests).includes("dom-1"));
    expect(rx.requests[0]!.path).toBe("/copernica");
  });
});
