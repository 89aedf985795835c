// The domains table and what a domain's verification does to webhooks, in SQL.
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { openStore } from "../../src/store/open.ts";
import { hostOnDomain, targetHost } from "../../src/store/hosts.ts";
import { insertDomain, listPendingDomains, verifiedDomainCovering, verifyDomainRow } from "../../src/store/sqlite/domains.ts";
import { getWebhook, insertWebhook } from "../../src/store/sqlite/webhooks.ts";
import { drizzleOf } from "../../src/store/sqlite/driver.ts";
import { tempDir } from "../helpers/hookd.ts";

describe("hostOnDomain", () => {
  test("the domain itself and names under it; never a sibling or a longer name that merely ends alike", () => {
    expect(hostOnDomain("example.com", "example.com")).toBe(true);
    expect(hostOnDomain("hooks.eu.example.com", "example.com")).toBe(true);
    expect(hostOnDomain("evil-example.com", "example.com")).toBe(false);
    expect(hostOnDomain("example.com.evil.org", "example.com")).toBe(false);
    expect(hostOnDomain("com", "example.com")).toBe(false);
    expect(targetHost("https://Hooks.Example.COM.:8443/x?y")).toBe("hooks.example.com");
  });
});

describe("verifyDomainRow", () => {
  test("verifies the domain and, in one go, the pending dns_txt webhooks on it; others are left alone", () => {
    const store = openStore(path.join(tempDir(), "hookd.db"));
    try {
      const db = drizzleOf(store);
      const hook = (id: string, target: string, verification: "dns_txt" | "handshake", verifiedAt: number | null = null) =>
        insertWebhook(db, {
          id,
          name: id,
          target,
          events: ["*"],
          secret: "whsec_x",
          verification,
          verifiedAt,
          verificationState: { dnsToken: "t" },
          createdAt: 1,
          updatedAt: 1,
        });
      hook("on", "http://a.example.com/", "dns_txt");
      hook("handshake", "http://b.example.com/", "handshake");
      hook("sibling", "http://evil-example.com/", "dns_txt");
      hook("done", "http://c.example.com/", "dns_txt", 5);
      insertDomain(db, { domain: "example.com", token: "tok", createdAt: 1 });
      expect(insertDomain(db, { domain: "example.com", token: "other", createdAt: 2 })).toBeUndefined();
      expect(listPendingDomains(db).map((d) => d.domain)).toEqual(["example.com"]);
      expect(verifiedDomainCovering(db, "a.example.com")).toBeUndefined();

      const r = verifyDomainRow(db, "example.com", 100);
      expect(r.domain).toMatchObject({ domain: "example.com", verifiedAt: 100, lastCheckedAt: 100 });
      expect(r.activated).toEqual(["on"]);
      expect(getWebhook(db, "on")).toMatchObject({ verifiedAt: 100, verificationState: null, updatedAt: 100 });
      expect(getWebhook(db, "handshake")!.verifiedAt).toBeNull();
      expect(getWebhook(db, "sibling")!.verifiedAt).toBeNull();
      expect(getWebhook(db, "done")!.verifiedAt).toBe(5);
      expect(verifiedDomainCovering(db, "x.y.example.com")!.domain).toBe("example.com");
      expect(listPendingDomains(db)).toEqual([]);
      // Verified already: nothing more happens.
      expect(verifyDomainRow(db, "example.com", 200)).toEqual({ domain: undefined, activated: [] });
    } finally {
      store.close();
    }
  });
});
