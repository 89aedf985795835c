// handshake and dns_txt: begun at create, completed by the owner; wrong values change nothing.
import { describe, expect, test } from "bun:test";
import { webhookCanSend, webhookStatus } from "../../src/webhooks/model.ts";
import { createWebhook } from "../../src/webhooks/service.ts";
import { completeVerification, pendingTxtRecord } from "../../src/webhooks/verification.ts";
import { startDnsServer } from "../helpers/dns-server.ts";
import { testResources } from "../helpers/hookd.ts";
import { harnesses, serviceError, T0 } from "./harness.ts";

const t = testResources();
const harness = harnesses();

type Handshake = { id: string; callbackKey: string; secretToken: string };

describe("handshake", () => {
  test("hookd POSTs {id, callbackKey, secretToken}; only those values sent back complete it", async () => {
    const h = harness();
    const rx = await t.receiver();
    const { webhook, pending } = await createWebhook(h, { name: "sfmc", target: rx.url, events: ["*"], verification: "handshake" });
    expect(pending).toEqual({ type: "handshake" });
    expect(webhookCanSend(webhook)).toBe(false);
    const sent = rx.requests[0]!.json() as Handshake;
    expect(sent.id).toBe(webhook.id);

    const wrong = await serviceError(() =>
      completeVerification(h, { id: webhook.id, callbackKey: sent.callbackKey, secretToken: `${sent.secretToken}x` }),
    );
    expect(wrong[0]!.code).toBe("verification_failed");
    expect(h.logged().some((l) => l.msg.startsWith("handshake verification refused"))).toBe(true);
    const missing = await serviceError(() => completeVerification(h, { id: webhook.id, callbackKey: sent.callbackKey }));
    expect(missing[0]).toMatchObject({ field: "secretToken", code: "required" });
    expect((await h.store.webhooks.get(webhook.id))!.verifiedAt).toBeNull();
    expect(h.notified()).toBe(1); // the create's

    h.clock.ms = T0 + 5000;
    const verified = await completeVerification(h, { id: webhook.id, callbackKey: sent.callbackKey, secretToken: sent.secretToken });
    expect(verified).toMatchObject({ verifiedAt: T0 + 5000, verificationState: null });
    expect(webhookCanSend(verified)).toBe(true);
    expect(webhookStatus(verified)).toBe("active");
    expect(h.notified()).toBe(2);

    const again = await serviceError(() =>
      completeVerification(h, { id: webhook.id, callbackKey: sent.callbackKey, secretToken: sent.secretToken }),
    );
    expect(again[0]).toMatchObject({ field: "id", code: "conflict" });
  });

  test("a target that refuses the handshake POST: verification_failed, nothing stored", async () => {
    const h = harness();
    const rx = await t.receiver();
    rx.respondWith({ status: 404 });
    const items = await serviceError(() => createWebhook(h, { name: "sfmc", target: rx.url, events: ["*"], verification: "handshake" }));
    expect(items[0]).toMatchObject({ field: "target", code: "verification_failed" });
    expect(items[0]!.message).toContain("404");
    expect(await h.store.webhooks.list()).toHaveLength(0);
  });

  test("nothing to complete for test_post or none webhooks, or an unknown id", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, { name: "w", target: "https://a.example/", events: ["*"], verification: "none" });
    expect((await serviceError(() => completeVerification(h, { id: webhook.id })))[0]!.code).toBe("conflict");
    expect((await serviceError(() => completeVerification(h, { id: "nope" })))[0]!.code).toBe("not_found");
  });
});

describe("dns_txt", () => {
  test("the TXT record to publish is given at create and while pending; completing finds it through the configured DNS server", async () => {
    const dns = t.track(await startDnsServer());
    const h = harness({ dnsServers: [dns.address] });
    // A name, not an IP: the record goes on it. Nothing is sent to the target.
    const { webhook, pending } = await createWebhook(h, {
      name: "copernica",
      target: "http://localhost:9/hook",
      events: ["*"],
      verification: "dns_txt",
    });
    expect(pending!.type).toBe("dns_txt");
    const record = pending!.txtRecord!;
    expect(record.names).toEqual(["localhost"]);
    expect(record.value).toMatch(/^hookd-verification=[A-Za-z0-9_-]{16,}$/);
    expect(pendingTxtRecord(webhook)).toEqual(record);
    expect(webhookStatus(webhook)).toBe("pending_verification");

    const early = await serviceError(() => completeVerification(h, { id: webhook.id }));
    expect(early[0]).toMatchObject({ field: "target", code: "verification_failed" });

    dns.setTxt("localhost", ["v=spf1 -all", record.value]);
    const verified = await completeVerification(h, { id: webhook.id });
    expect(webhookCanSend(verified)).toBe(true);
    expect(pendingTxtRecord(verified)).toBeNull();
  });

  test("an IP address target cannot carry a TXT record: invalid_value, nothing stored", async () => {
    const h = harness();
    const items = await serviceError(() =>
      createWebhook(h, { name: "ip", target: "http://127.0.0.1:9/", events: ["*"], verification: "dns_txt" }),
    );
    expect(items[0]).toMatchObject({ field: "target", code: "invalid_value" });
    expect(await h.store.webhooks.list()).toHaveLength(0);
  });
});
