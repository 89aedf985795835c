// The shared driver suite, verified domains: names, what a verification activates, which
// domain covers a host. Part of driver.suite.ts (through driver-admin.suite.ts).
import { describe, expect, test } from "bun:test";
import type { WebhookInsert } from "../../src/store/driver.ts";
import { type DriverSetup, T, webhookRow, withStore } from "./driver-env.ts";

export function domainCases(setup: DriverSetup): void {
  describe("domains", () => {
    test(
      "insert once (a duplicate: undefined), get, list and listPending by name, markChecked, delete",
      withStore(setup, async (env) => {
        const s = await env.open();
        const added = await s.domains.insert({ domain: "example.com", token: "t1", createdAt: T });
        expect(added).toStrictEqual({ domain: "example.com", token: "t1", verifiedAt: null, lastCheckedAt: null, createdAt: T });
        expect(await s.domains.insert({ domain: "example.com", token: "t2", createdAt: T + 1 })).toBeUndefined();
        // Byte order, as SQLite sorts: "-" (0x2d) before "." and digits, upper case before lower.
        for (const domain of ["b.example", "a-b.example", "Z.example", "a.example", "a0.example"])
          await s.domains.insert({ domain, token: `t-${domain}`, createdAt: T });
        const names = ["Z.example", "a-b.example", "a.example", "a0.example", "b.example", "example.com"];
        expect((await s.domains.list()).map((d) => d.domain)).toEqual(names);
        await s.domains.markChecked("a.example", T + 9);
        await s.domains.markChecked("gone.example", T + 9);
        expect(await s.domains.get("a.example")).toStrictEqual({
          domain: "a.example",
          token: "t-a.example",
          verifiedAt: null,
          lastCheckedAt: T + 9,
          createdAt: T,
        });
        expect(await s.domains.get("gone.example")).toBeUndefined();
        await s.domains.verify("a-b.example", T + 10);
        expect((await s.domains.listPending()).map((d) => d.domain)).toEqual(names.filter((n) => n !== "a-b.example"));
        expect([await s.domains.delete("b.example"), await s.domains.delete("b.example")]).toEqual([true, false]);
        expect((await s.domains.list()).length).toBe(5);
      }),
    );

    test(
      "verify: the domain and, at once, the pending dns_txt webhooks on it or under it; nothing else, and only once",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.domains.insert({ domain: "example.com", token: "t", createdAt: T });
        const hook = (id: string, target: string, over: Partial<WebhookInsert> = {}) =>
          s.webhooks.insert(webhookRow(id, { target, verification: "dns_txt", verificationState: { dnsToken: "x" }, ...over }));
        await hook("apex", "https://Example.COM./in");
        await hook("under", "https://a.hooks.example.com:8443/in");
        await hook("evil", "https://evil-example.com/in");
        await hook("suffix", "https://example.com.evil.org/in");
        await hook("handshake", "https://b.example.com/in", { verification: "handshake" });
        await hook("done", "https://c.example.com/in", { verifiedAt: T - 1 });
        expect(await s.domains.verifiedCovering("hooks.example.com")).toBeUndefined();
        const r = await s.domains.verify("example.com", T + 5);
        expect(r.domain).toStrictEqual({ domain: "example.com", token: "t", verifiedAt: T + 5, lastCheckedAt: T + 5, createdAt: T });
        expect(r.activated.toSorted()).toEqual(["apex", "under"]);
        for (const id of ["apex", "under"])
          expect(await s.webhooks.get(id)).toMatchObject({ verifiedAt: T + 5, verificationState: null, updatedAt: T + 5 });
        for (const id of ["evil", "suffix", "handshake"])
          expect(await s.webhooks.get(id)).toMatchObject({ verifiedAt: null, verificationState: { dnsToken: "x" }, updatedAt: T });
        expect((await s.webhooks.get("done"))!.verifiedAt).toBe(T - 1);
        expect(await s.domains.verify("example.com", T + 6)).toEqual({ domain: undefined, activated: [] });
        expect(await s.domains.verify("nope.example", T + 6)).toEqual({ domain: undefined, activated: [] });
        expect((await s.webhooks.get("apex"))!.verifiedAt).toBe(T + 5);
      }),
    );

    test(
      "verifiedCovering: the domain itself or a name under it, the most specific verified one; never a look-alike",
      withStore(setup, async (env) => {
        const s = await env.open();
        for (const domain of ["example.com", "eu.example.com", "pending.example.com"])
          await s.domains.insert({ domain, token: "t", createdAt: T });
        await s.domains.verify("example.com", T);
        await s.domains.verify("eu.example.com", T);
        const covering = async (host: string) => (await s.domains.verifiedCovering(host))?.domain;
        expect(await covering("example.com")).toBe("example.com");
        expect(await covering("a.b.example.com")).toBe("example.com");
        expect(await covering("hooks.eu.example.com")).toBe("eu.example.com");
        expect(await covering("eu.example.com")).toBe("eu.example.com");
        expect(await covering("x.pending.example.com")).toBe("example.com");
        expect(await covering("evil-example.com")).toBeUndefined();
        expect(await covering("example.com.evil.org")).toBeUndefined();
        expect(await covering("com")).toBeUndefined();
        expect(await s.domains.verifiedCovering("a.example.com")).toStrictEqual((await s.domains.get("example.com"))!);
      }),
    );

    test(
      "verify from two nodes at once: one verifies and activates, the other finds it done",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        await a.domains.insert({ domain: "example.com", token: "t", createdAt: T });
        for (let i = 0; i < 5; i++)
          await a.webhooks.insert(webhookRow(`w${i}`, { target: `https://h${i}.example.com/in`, verification: "dns_txt" }));
        const [ra, rb] = await Promise.all([a.domains.verify("example.com", T + 1), b.domains.verify("example.com", T + 2)]);
        const winner = ra.domain ? ra : rb;
        const loser = ra.domain ? rb : ra;
        expect(winner.activated.toSorted()).toEqual(["w0", "w1", "w2", "w3", "w4"]);
        expect(loser).toEqual({ domain: undefined, activated: [] });
      }),
    );
  });
}
