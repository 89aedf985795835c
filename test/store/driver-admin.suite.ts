// The shared driver suite, what operators configure: webhooks (every column's type read back
// as written), API keys; verified domains (driver-domains.suite.ts) and the delivery views
// (driver-views.suite.ts). Part of driver.suite.ts.
import { describe, expect, test } from "bun:test";
import type { WebhookInsert, WebhookRow } from "../../src/store/driver.ts";
import { type DriverSetup, T, webhookRow, withStore } from "./driver-env.ts";
import { domainCases } from "./driver-domains.suite.ts";
import { viewCases } from "./driver-views.suite.ts";

/** A webhook with every column set, JSON of every shape (key order that is not sorted), booleans false. */
const FULL: WebhookInsert = {
  id: "w_full",
  name: "full \u00e9",
  target: "https://hooks.example.org/in?x=1",
  events: ["delivery", "bounce", "profile.created"],
  active: false,
  authType: "oauth2",
  authToken: "tok",
  authCredentials: { username: "u", password: "p w" },
  authRequestDetails: { url: "https://auth.example.org/token", body: { client_id: "c", client_secret: "s" } },
  customHeaders: { "X-Zeta": "1", "X-Alpha": "2", "x-mid": "" },
  format: "sendgrid",
  verification: "handshake",
  verificationState: { challenge: "abc", sent: "yes" },
  verifiedAt: T - 10,
  batchMaxEvents: 250,
  batchMaxBytes: 5_000_000_000,
  batchMaxWait: 90_000,
  filter: { sender_domains: ["b.example", "a.example"], machine: false },
  secret: "whsec_FULL",
  previousSecret: "whsec_OLD",
  previousSecretUntil: T + 86_400_000,
  signingPrivateKey: "priv",
  signingPublicKey: "pub",
  ecdsaSigned: false,
  sendgridSettings: { group_unsubscribe: true, account_status_change: false },
  sfmcSignatureKey: "c2ZtYw==",
  cursorSeq: 2 ** 40,
  lastSuccessAt: T - 5,
  lastFailureAt: T - 4,
  lastFailureCode: "http_5xx",
  failingSince: T - 4,
  consecutiveFailures: 3,
  createdAt: T,
  updatedAt: T + 1,
};

/** What a webhook given only its required columns reads back as (drizzle's defaults). */
const DEFAULTS: Omit<WebhookRow, "id" | "name" | "target" | "events" | "secret" | "createdAt" | "updatedAt"> = {
  active: true,
  authType: "none",
  authToken: null,
  authCredentials: null,
  authRequestDetails: null,
  customHeaders: null,
  format: "hookd",
  verification: "test_post",
  verificationState: null,
  verifiedAt: null,
  batchMaxEvents: null,
  batchMaxBytes: null,
  batchMaxWait: null,
  filter: null,
  previousSecret: null,
  previousSecretUntil: null,
  signingPrivateKey: null,
  signingPublicKey: null,
  ecdsaSigned: true,
  sendgridSettings: null,
  sfmcSignatureKey: null,
  cursorSeq: 0,
  lastSuccessAt: null,
  lastFailureAt: null,
  lastFailureCode: null,
  failingSince: null,
  consecutiveFailures: 0,
};

export function adminCases(setup: DriverSetup): void {
  describe("webhooks", () => {
    test(
      "a row reads back as written: every column's type, JSON key order, booleans, nulls and defaults",
      withStore(setup, async (env) => {
        const s = await env.open();
        const inserted = await s.webhooks.insert(FULL);
        expect(inserted).toStrictEqual(FULL as WebhookRow);
        expect(Object.keys(inserted)).toEqual(Object.keys(FULL));
        const got = (await s.webhooks.get("w_full"))!;
        expect(got).toStrictEqual(FULL as WebhookRow);
        // Sent in the order given, and serialised by the API as stored.
        expect(JSON.stringify(got.customHeaders)).toBe('{"X-Zeta":"1","X-Alpha":"2","x-mid":""}');
        expect(Object.keys(got.filter!)).toEqual(["sender_domains", "machine"]);
        const bare = webhookRow("w_bare", { verification: undefined });
        const { verification: _v, ...required } = bare;
        expect(await s.webhooks.insert(required as WebhookInsert)).toStrictEqual({ ...required, ...DEFAULTS } as WebhookRow);
        expect(await s.webhooks.get("nope")).toBeUndefined();
      }),
    );

    test(
      "update: the columns given, the new row returned with its version; nulls written; none such: undefined",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.webhooks.insert(FULL);
        const saved = await s.webhooks.update("w_full", {
          events: ["open"],
          customHeaders: { b: "2", a: "1" },
          filter: null,
          authCredentials: null,
          active: true,
          ecdsaSigned: true,
          batchMaxBytes: null,
          consecutiveFailures: 0,
          updatedAt: T + 50,
        });
        const expected: WebhookRow = {
          ...(FULL as WebhookRow),
          events: ["open"],
          customHeaders: { b: "2", a: "1" },
          filter: null,
          authCredentials: null,
          active: true,
          ecdsaSigned: true,
          batchMaxBytes: null,
          consecutiveFailures: 0,
          updatedAt: T + 50,
        };
        expect(saved).toStrictEqual(expected);
        expect(await s.webhooks.get("w_full")).toStrictEqual(expected);
        expect(JSON.stringify(saved!.customHeaders)).toBe('{"b":"2","a":"1"}');
        // Columns not given keep their value, updatedAt included when it is not given.
        expect(await s.webhooks.update("w_full", { signingPublicKey: "pub2" })).toStrictEqual({ ...expected, signingPublicKey: "pub2" });
        expect(await s.webhooks.update("gone", { name: "x", updatedAt: T + 60 })).toBeUndefined();
        expect(await s.webhooks.get("gone")).toBeUndefined();
      }),
    );

    if (setup.fleet) {
      test(
        "every update moves the version, even when two nodes' edits carry the same time or a clock runs behind",
        withStore(setup, async (env) => {
          const [a, b] = [await env.open("node-a"), await env.open("node-b")];
          await a.webhooks.insert(webhookRow("w1"));
          const v1 = (await a.webhooks.update("w1", { name: "one", updatedAt: T + 10 }))!.updatedAt;
          const v2 = (await b.webhooks.update("w1", { name: "two", updatedAt: T + 10 }))!.updatedAt;
          const v3 = (await b.webhooks.update("w1", { name: "three", updatedAt: T + 2 }))!.updatedAt;
          expect(v1).toBe(T + 10);
          expect(v2).toBeGreaterThan(v1);
          expect(v3).toBeGreaterThan(v2);
          expect((await a.webhooks.get("w1"))!.updatedAt).toBe(v3);
        }),
      );
    }

    test(
      "list: newest first, as get reads them; delete: true once, then false",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.webhooks.insert(webhookRow("w_old", { createdAt: T - 2, updatedAt: T - 2 }));
        await s.webhooks.insert(webhookRow("w_new", { createdAt: T + 2, updatedAt: T + 2 }));
        await s.webhooks.insert(webhookRow("w_mid", { createdAt: T, updatedAt: T }));
        const listed = await s.webhooks.list();
        expect(listed.map((w) => w.id)).toEqual(["w_new", "w_mid", "w_old"]);
        expect(listed[0]).toStrictEqual((await s.webhooks.get("w_new"))!);
        expect(await s.webhooks.delete("w_mid")).toBe(true);
        expect(await s.webhooks.delete("w_mid")).toBe(false);
        expect((await s.webhooks.list()).map((w) => w.id)).toEqual(["w_new", "w_old"]);
        expect(await s.webhooks.get("w_mid")).toBeUndefined();
      }),
    );
  });

  describe("API keys", () => {
    test(
      "create, find (last use noted once a minute), allows, revoke, list oldest first with the revoked",
      withStore(setup, async (env) => {
        const s = await env.open();
        const a = await s.keys.create("ci", ["events:write"], T);
        const b = await s.keys.create("ops", ["webhooks:read", "webhooks:write"], T + 1);
        expect(a.key).toStartWith("hookd_");
        expect(a.info).toStrictEqual({
          id: a.info.id,
          name: "ci",
          prefix: a.key.slice(0, 12),
          scopes: ["events:write"],
          createdAt: T,
          lastUsedAt: null,
          revokedAt: null,
        });
        expect(await s.keys.find(a.key, T + 10)).toStrictEqual({ ...a.info, lastUsedAt: T + 10 });
        // Within the minute: not written again.
        expect((await s.keys.find(a.key, T + 30_000))!.lastUsedAt).toBe(T + 10);
        expect((await s.keys.find(a.key, T + 70_011))!.lastUsedAt).toBe(T + 70_011);
        expect(await s.keys.find(`${a.key}x`, T)).toBeNull();
        expect([await s.keys.allows(b.info.id, "webhooks:write"), await s.keys.allows(b.info.id, "events:write")]).toEqual([true, false]);
        expect(await s.keys.allows("nope", "webhooks:read")).toBe(false);
        expect(await s.keys.revoke(b.info.id, T + 5)).toBe(true);
        expect(await s.keys.revoke(b.info.id, T + 6)).toBe(false);
        expect(await s.keys.revoke("nope", T + 6)).toBe(false);
        expect(await s.keys.allows(b.info.id, "webhooks:write")).toBe(false);
        expect(await s.keys.find(b.key, T + 7)).toBeNull();
        expect(await s.keys.list()).toStrictEqual([
          { ...a.info, lastUsedAt: T + 70_011 },
          { ...b.info, revokedAt: T + 5 },
        ]);
      }),
    );

    test(
      "createFirst: only while no active key exists (a revoked one does not count)",
      withStore(setup, async (env) => {
        const s = await env.open();
        const first = (await s.keys.createFirst("admin", ["webhooks:read"], T))!;
        expect(first.info.name).toBe("admin");
        expect(await s.keys.createFirst("admin", ["webhooks:read"], T + 1)).toBeNull();
        await s.keys.revoke(first.info.id, T + 2);
        const again = (await s.keys.createFirst("admin2", ["events:read"], T + 3))!;
        expect(await s.keys.find(again.key, T + 3)).toMatchObject({ name: "admin2", scopes: ["events:read"] });
        expect((await s.keys.list()).map((k) => k.name)).toEqual(["admin", "admin2"]);
      }),
    );

    test(
      "createFirst from several nodes at once: exactly one key",
      withStore(setup, async (env) => {
        const nodes = await Promise.all(["node-a", "node-b", "node-c", "node-d"].map((n) => env.open(n)));
        for (let round = 0; round < 3; round++) {
          const made = await Promise.all(nodes.map((n, i) => n.keys.createFirst(`first-${i}`, ["webhooks:read"], T + round * 10)));
          expect(made.filter((m) => m !== null).length).toBe(1);
          const keys = await nodes[0]!.keys.list();
          expect(keys.filter((k) => k.revokedAt === null).length).toBe(1);
          await nodes[1]!.keys.revoke(keys.find((k) => k.revokedAt === null)!.id, T + round * 10 + 5);
        }
      }),
    );
  });

  domainCases(setup);
  viewCases(setup);
}
