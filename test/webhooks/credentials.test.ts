// The credential rules are security rules: a client that may edit webhooks sees
// credentials only as REDACTED, and must not be able to turn a webhook into a way of
// reading them (by sending REDACTED back, or by moving the target to itself).
import { describe, expect, test } from "bun:test";
import { readerCredentials, REDACTED, redactedCredentials, redactedUrl } from "../../src/webhooks/credentials.ts";
import type { WebhookCreateInput } from "../../src/webhooks/fields.ts";
import { createWebhook, updateWebhook } from "../../src/webhooks/service.ts";
import { harnesses, serviceError, type Harness } from "./harness.ts";

const harness = harnesses();
let h: Harness;

// verification none and the harness's allow_private_targets: no request leaves the test.
const WITH_EVERY_CREDENTIAL: WebhookCreateInput = {
  name: "creds",
  target: "https://a.example/hook",
  events: ["*"],
  verification: "none",
  auth_type: "oauth2",
  auth_token: "tok-1",
  auth_credentials: { username: "u", password: "pw-1" },
  auth_request_details: { url: "https://a.example/token", body: { client_id: "cid", client_secret: "cs-1" } },
  custom_headers: { "X-Api-Key": "key-1", "X-Customer": "42" },
};

async function created() {
  h = harness();
  return (await createWebhook(h, WITH_EVERY_CREDENTIAL)).webhook;
}
const stored = async (id: string) => (await h.store.webhooks.get(id))!;

describe("redaction", () => {
  test("every secret is REDACTED; usernames, client ids, URLs and other headers are shown", async () => {
    const w = await created();
    expect(redactedCredentials(w)).toEqual({
      authToken: REDACTED,
      authCredentials: { username: "u", password: REDACTED },
      authRequestDetails: { url: "https://a.example/token", body: { client_id: "cid", client_secret: REDACTED } },
      customHeaders: { "X-Api-Key": REDACTED, "X-Customer": "42" },
    });
  });

  test("credential-like header names are judged case-insensitively; absent credentials stay absent", () => {
    const shown = redactedCredentials({
      authToken: null,
      authCredentials: null,
      authRequestDetails: null,
      customHeaders: { authorization: "Bearer x", "X-SIGNATURE": "s", Cookie: "c", "X-Trace": "t" },
    });
    expect(shown).toEqual({
      authToken: null,
      authCredentials: null,
      authRequestDetails: null,
      customHeaders: { authorization: REDACTED, "X-SIGNATURE": REDACTED, Cookie: REDACTED, "X-Trace": "t" },
    });
  });
});

describe("REDACTED sent back means unchanged", () => {
  test("each credential sent back as REDACTED keeps its stored value; other fields still change", async () => {
    const w = await created();
    const shown = redactedCredentials(w);
    await updateWebhook(h, w.id, {
      name: "renamed",
      auth_token: shown.authToken!,
      auth_credentials: shown.authCredentials!,
      auth_request_details: shown.authRequestDetails!,
      custom_headers: { ...shown.customHeaders!, "X-Customer": "43" },
    });
    const after = await stored(w.id);
    expect(after.name).toBe("renamed");
    expect(after.authToken).toBe("tok-1");
    expect(after.authCredentials).toEqual({ username: "u", password: "pw-1" });
    expect(after.authRequestDetails!.body.client_secret).toBe("cs-1");
    expect(after.customHeaders).toEqual({ "X-Api-Key": "key-1", "X-Customer": "43" });
  });

  test("a new value replaces the stored one; null clears it", async () => {
    const w = await created();
    await updateWebhook(h, w.id, { auth_token: "tok-2", auth_credentials: { username: "u", password: "pw-2" }, custom_headers: null });
    const after = await stored(w.id);
    expect(after.authToken).toBe("tok-2");
    expect(after.authCredentials!.password).toBe("pw-2");
    expect(after.customHeaders).toBeNull();
  });
});

describe("moving the target to another origin", () => {
  test("without the credentials again: refused, naming each one; nothing changes", async () => {
    const w = await created();
    const items = await serviceError(() => updateWebhook(h, w.id, { target: "https://collector.example/x" }));
    expect(items.map((i) => `${i.field}:${i.code}`).sort()).toEqual([
      "auth_credentials:required",
      "auth_request_details:required",
      "auth_token:required",
      "custom_headers:required",
    ]);
    expect(items[0]!.message).toContain("send it again");
    expect((await stored(w.id)).target).toBe("https://a.example/hook");
  });

  test("REDACTED placeholders are not the credentials again", async () => {
    const w = await created();
    const shown = redactedCredentials(w);
    const items = await serviceError(() =>
      updateWebhook(h, w.id, {
        target: "https://collector.example/x",
        auth_token: shown.authToken!,
        auth_credentials: shown.authCredentials!,
        auth_request_details: shown.authRequestDetails!,
        custom_headers: shown.customHeaders!,
      }),
    );
    expect(items.map((i) => i.field).sort()).toEqual(["auth_credentials", "auth_request_details", "auth_token", "custom_headers"]);
    expect((await stored(w.id)).target).toBe("https://a.example/hook");
  });

  test("with fresh values or null for each: moved, and the new values stored", async () => {
    const w = await created();
    await updateWebhook(h, w.id, {
      target: "https://b.example/x",
      auth_type: "none",
      auth_token: "tok-b",
      auth_credentials: null,
      auth_request_details: null,
      custom_headers: { "X-Api-Key": "key-b" },
    });
    const after = await stored(w.id);
    expect(after).toMatchObject({
      target: "https://b.example/x",
      authToken: "tok-b",
      authCredentials: null,
      authRequestDetails: null,
      customHeaders: { "X-Api-Key": "key-b" },
    });
  });

  test("another path on the same origin needs nothing again", async () => {
    const w = await created();
    await updateWebhook(h, w.id, { target: "https://a.example/other" });
    expect(await stored(w.id)).toMatchObject({ target: "https://a.example/other", authToken: "tok-1" });
  });

  test("a port is part of the origin", async () => {
    const w = await created();
    const items = await serviceError(() => updateWebhook(h, w.id, { target: "https://a.example:8443/hook" }));
    expect(items.map((i) => i.field)).toContain("auth_token");
  });

  test("headers that carry no credential do not have to be sent again", async () => {
    h = harness();
    const { webhook } = await createWebhook(h, {
      name: "plain",
      target: "https://a.example/",
      events: ["*"],
      verification: "none",
      custom_headers: { "X-Customer": "42" },
    });
    await updateWebhook(h, webhook.id, { target: "https://b.example/" });
    expect(await stored(webhook.id)).toMatchObject({ target: "https://b.example/", customHeaders: { "X-Customer": "42" } });
  });
});

describe("moving the OAuth2 token endpoint to another origin", () => {
  const otherEndpoint = (secret: string) => ({ url: "https://collector.example/token", body: { client_id: "cid", client_secret: secret } });

  test("with the client secret REDACTED: refused, naming auth_request_details and the URL that moved; nothing changes", async () => {
    const w = await created();
    const items = await serviceError(() => updateWebhook(h, w.id, { auth_request_details: otherEndpoint(REDACTED) }));
    expect(items.map((i) => `${i.field}:${i.code}`)).toEqual(["auth_request_details:required"]);
    expect(items[0]!.message).toContain("auth_request_details.url moves to another origin");
    expect((await stored(w.id)).authRequestDetails).toEqual({
      url: "https://a.example/token",
      body: { client_id: "cid", client_secret: "cs-1" },
    });
  });

  test("with a fresh secret: moved; on the same origin, REDACTED keeps the stored secret", async () => {
    const w = await created();
    await updateWebhook(h, w.id, {
      auth_request_details: { url: "https://a.example/oauth/token", body: { client_id: "cid2", client_secret: REDACTED } },
    });
    expect((await stored(w.id)).authRequestDetails).toEqual({
      url: "https://a.example/oauth/token",
      body: { client_id: "cid2", client_secret: "cs-1" },
    });
    await updateWebhook(h, w.id, { auth_request_details: otherEndpoint("cs-new") });
    expect((await stored(w.id)).authRequestDetails).toEqual(otherEndpoint("cs-new"));
  });

  test("the other credentials do not go to the token endpoint, so they stay", async () => {
    const w = await created();
    await updateWebhook(h, w.id, { auth_request_details: otherEndpoint("cs-new") });
    expect(await stored(w.id)).toMatchObject({ authToken: "tok-1", authCredentials: { username: "u", password: "pw-1" } });
  });
});

describe("what a key that may only read sees", () => {
  test("redactedUrl: userinfo and every query value REDACTED, names and the rest kept", () => {
    expect(redactedUrl("https://u:p@a.example:8443/x/y?token=t&flag&tenant=7#frag")).toBe(
      "https://********:********@a.example:8443/x/y?token=********&flag&tenant=********#frag",
    );
    expect(redactedUrl("https://a.example/hook")).toBe("https://a.example/hook");
  });

  test("readerCredentials: every header value, the target's and token URL's secrets", async () => {
    const w = await created();
    const shown = readerCredentials({ ...w, target: "https://a.example/hook?sig=abc" });
    expect(shown.target).toBe("https://a.example/hook?sig=********");
    expect(shown.customHeaders).toEqual({ "X-Api-Key": REDACTED, "X-Customer": REDACTED });
    expect(shown.authRequestDetails).toEqual({ url: "https://a.example/token", body: { client_id: "cid", client_secret: REDACTED } });
  });
});
