import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { errorBody, testResources } from "../helpers/hookd.ts";

const t = testResources();

// SparkPost's "create a webhook" tutorial, as its users run it: trailing slash, the bare key
// in Authorization, a JSON body with name/target/events.
function sparkpostCreate(url: string, key: string, body: unknown) {
  return fetch(`${url}/api/v1/webhooks/`, {
    method: "POST",
    headers: { Authorization: key, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("POST /api/v1/webhooks/ as in SparkPost's tutorial", () => {
  test("201 with results.id, links and a whsec_ secret, after a signed test POST reached the target", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const res = await sparkpostCreate(app.url, app.key, {
      name: "Example webhook",
      target: `${r.url}/sparkpost/target`,
      events: ["delivery", "injection", "open", "click"],
    });
    const answeredAt = Date.now();
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as {
      results: { id: string; links: { href: string; rel: string; method: string[] }[]; secret: string };
    };
    expect(Object.keys(body)).toEqual(["results"]);
    const { id, links, secret } = body.results;
    expect(id).toMatch(/^[0-9a-z]{10,}$/);
    expect(Array.isArray(links) && links.length).toBeGreaterThan(0);
    expect(links[0]!.href).toBe(`${app.url}/api/v1/webhooks/${id}`);
    expect(links[0]!.method).toContain("GET");
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{20,}$/);

    // The test POST happened before the 201 was sent, not afterwards.
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.receivedAt).toBeLessThanOrEqual(answeredAt);
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/sparkpost/target");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["user-agent"]).toMatch(/^hookd\/\d+\.\d+\.\d+/);
    expect(req.headers["webhook-id"]).toBeTruthy();
    expect(req.headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(Math.abs(Number(req.headers["webhook-timestamp"]) - answeredAt / 1000)).toBeLessThan(30);
    expect(req.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    const events = req.json() as { event_id: string; type: string; timestamp: string }[];
    expect(Array.isArray(events)).toBe(true);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(typeof e.event_id).toBe("string");
      expect(typeof e.type).toBe("string");
      expect(e.timestamp).toMatch(/Z$/);
    }

    // The receiver can verify it with the secret it was given, using the reference library…
    const verified = new Webhook(secret).verify(req.body, {
      "webhook-id": req.headers["webhook-id"]!,
      "webhook-timestamp": req.headers["webhook-timestamp"]!,
      "webhook-signature": req.headers["webhook-signature"]!,
    });
    expect(verified).toEqual(events);
    // …and a different secret or a changed body does not verify.
    const other = "whsec_" + Buffer.from("another secret of thirty-two b!!").toString("base64");
    expect(() => new Webhook(other).verify(req.body, req.headers)).toThrow();
    expect(() => new Webhook(secret).verify(req.body.replace("delivery", "bounce"), req.headers)).toThrow();

    // And the webhook exists, as created.
    const got = await app.api("GET", `/webhooks/${id}`, { key: app.key });
    expect(got.status).toBe(200);
    const view = ((await got.json()) as { results: Record<string, unknown> }).results;
    expect(view.name).toBe("Example webhook");
    expect(view.target).toBe(`${r.url}/sparkpost/target`);
    expect(view.events).toEqual(["delivery", "injection", "open", "click"]);
    expect(view.active).toBe(true);
    expect(view.status).toBe("active");
  });

  test("without the trailing slash and with a Bearer key works the same", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const res = await app.api("POST", "/webhooks", { body: { name: "b", target: r.url, events: ["*"] } });
    expect(res.status).toBe(201);
    expect(r.requests).toHaveLength(1);
  });

  test("a target answering 500 → 400 verification_failed on field target, nothing stored", async () => {
    const app = await t.app();
    const r = await t.receiver();
    r.respondWith({ status: 500, body: "boom" });
    const res = await sparkpostCreate(app.url, app.key, { name: "x", target: `${r.url}/hook`, events: ["delivery"] });
    expect(res.status).toBe(400);
    const { errors } = await errorBody(res);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe("verification_failed");
    expect(errors[0]!.field).toBe("target");
    expect(errors[0]!.message).toContain("500");
    expect(r.requests).toHaveLength(1);

    const list = await app.api("GET", "/webhooks");
    expect(((await list.json()) as { results: unknown[] }).results).toEqual([]);
  });

  test("a target refusing connections → 400 verification_failed on field target, nothing stored", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const target = `${r.url}/hook`;
    await r.close();
    const res = await sparkpostCreate(app.url, app.key, { name: "x", target, events: ["delivery"] });
    expect(res.status).toBe(400);
    const { errors } = await errorBody(res);
    expect(errors[0]!.code).toBe("verification_failed");
    expect(errors[0]!.field).toBe("target");

    const list = await app.api("GET", "/webhooks");
    expect(((await list.json()) as { results: unknown[] }).results).toEqual([]);
  });

  test("a target answering a redirect is not followed and fails verification", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const elsewhere = await t.receiver();
    r.respondWith({ status: 302, headers: { location: `${elsewhere.url}/stolen` } });
    const res = await app.api("POST", "/webhooks", { body: { name: "x", target: r.url, events: ["delivery"] } });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors[0]!.code).toBe("verification_failed");
    expect(elsewhere.requests).toHaveLength(0);
  });

  test('verification "none" makes no POST at all', async () => {
    const app = await t.app();
    const r = await t.receiver();
    const res = await app.api("POST", "/webhooks", {
      body: { name: "quiet", target: `${r.url}/hook`, events: ["delivery"], verification: "none" },
    });
    expect(res.status).toBe(201);
    const { results } = (await res.json()) as { results: { id: string } };
    expect(r.requests).toHaveLength(0);
    // The witness: a validate asked for now reaches the receiver, alone. A POST the create
    // had started without waiting for it would have come first.
    expect((await app.api("POST", `/webhooks/${results.id}/validate`, { body: {} })).status).toBe(200);
    expect(r.requests.map((q) => q.path)).toEqual(["/hook"]);
    const got = (await (await app.api("GET", `/webhooks/${results.id}`)).json()) as { results: { verification: string; status: string } };
    expect(got.results.verification).toBe("none");
    expect(got.results.status).toBe("active");
  });

  test("with verification none an unreachable target is accepted (nothing is sent)", async () => {
    const app = await t.app();
    const res = await app.api("POST", "/webhooks", {
      body: { name: "later", target: "http://127.0.0.1:9/nothing-here", events: ["bounce"], verification: "none" },
    });
    expect(res.status).toBe(201);
    const list = (await (await app.api("GET", "/webhooks")).json()) as { results: { name: string }[] };
    expect(list.results.map((w) => w.name)).toEqual(["later"]);
  });
});
