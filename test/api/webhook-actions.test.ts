// The webhook actions besides CRUD: validate, batch-status, retry, replay (its errors;
// its delivery is in test/deliver/replay.test.ts), rotate-secret and secret.
import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import {
  batchStatus,
  createWebhook,
  eventsOf,
  eventuallyValue,
  makeEvents,
  postEvents,
  receivedIds,
  results,
  startDeliveryApp,
} from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { testResources } from "../helpers/hookd.ts";
import { errorBody } from "../helpers/hookd.ts";

const t = testResources();

type ValidateResult = {
  msg: string;
  response: { status: number | null; headers: Record<string, string>; body: string };
  latency_ms: number;
  failure_code: string | null;
};

async function setup(fields: Record<string, unknown> = {}) {
  const rx = await t.receiver();
  const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50 } } }));
  const wh = await createWebhook(app, `${rx.url}/hook`, fields);
  return { rx, app, wh };
}

describe("POST /webhooks/{id}/validate", () => {
  test("returns the receiver's status, headers, body snippet and latency; the request is signed", async () => {
    const { rx, app, wh } = await setup({ events: ["bounce", "delivery"] });
    rx.respondWith({ status: 202, headers: { "X-Receiver": "yes" }, body: "accepted, thanks", delayMs: 40 });

    const r = await results<ValidateResult>(app.api("POST", `/webhooks/${wh.id}/validate`));
    expect(r.msg).toMatch(/succeeded/);
    expect(r.response.status).toBe(202);
    expect(r.response.headers["x-receiver"]).toBe("yes");
    expect(r.response.body).toBe("accepted, thanks");
    expect(r.latency_ms).toBeGreaterThanOrEqual(35);
    expect(r.latency_ms).toBeLessThan(5000);
    expect(r.failure_code).toBeNull();

    // One signed sample per subscribed type, sent now and outside the queue.
    expect(rx.requests).toHaveLength(1);
    const sent = rx.requests[0]!;
    expect(sent.path).toBe("/hook");
    new Webhook(wh.secret).verify(sent.body, sent.headers);
    expect(eventsOf(sent).map((e) => e.type)).toEqual(["bounce", "delivery"]);
    expect(await batchStatus(app, wh.id)).toEqual([]);
  });

  test("sends the given message, as given, instead of a sample", async () => {
    const { rx, app, wh } = await setup();
    const message = { msys: { message_event: { type: "delivery", rcpt_to: "a@example.org" } } };
    const r = await results<ValidateResult>(app.api("POST", `/webhooks/${wh.id}/validate`, { body: { message } }));
    expect(r.response.status).toBe(200);
    expect(rx.requests[0]!.json()).toEqual(message);
    new Webhook(wh.secret).verify(rx.requests[0]!.body, rx.requests[0]!.headers);
  });

  test("a 500 receiver: msg says failed, with the status, body and failure code", async () => {
    const { rx, app, wh } = await setup();
    rx.respondWith({ status: 500, body: "database on fire" });
    const r = await results<ValidateResult>(app.api("POST", `/webhooks/${wh.id}/validate`));
    expect(r.msg).toMatch(/failed/i);
    expect(r.msg).toContain("500");
    expect(r.response.status).toBe(500);
    expect(r.response.body).toBe("database on fire");
    expect(r.failure_code).toBe("http_500");
    expect(r.latency_ms).toBeGreaterThanOrEqual(0);
  });

  test("a receiver that is down: msg says failed, no status, failure code connection_refused", async () => {
    const { rx, app, wh } = await setup();
    await rx.close();
    const r = await results<ValidateResult>(app.api("POST", `/webhooks/${wh.id}/validate`));
    expect(r.msg).toMatch(/failed/i);
    expect(r.response).toEqual({ status: null, headers: {}, body: "" });
    expect(r.failure_code).toBe("connection_refused");
  });

  test("an unknown field is 400", async () => {
    const { app, wh } = await setup();
    const res = await app.api("POST", `/webhooks/${wh.id}/validate`, { body: { messages: [] } });
    expect(res.status).toBe(400);
    await errorBody(res);
  });
});

describe("GET /webhooks/{id}/batch-status", () => {
  test("newest first, limit and state filter, and bad queries are 400", async () => {
    const { rx, app, wh } = await setup({ batch_max_events: 2 });
    await postEvents(app, makeEvents(6, "bs"));
    await eventually(() => receivedIds(rx.requests).length === 6);
    const all = await eventuallyValue(async () => {
      const s = await batchStatus(app, wh.id);
      return s.length === 3 && s.every((b) => b.state === "delivered") ? s : null;
    });
    // Newest first: the last batch sent is listed first.
    expect(all.map((b) => b.batch_id)).toEqual(rx.requests.map((r) => r.headers["webhook-id"]!).reverse());
    for (const b of all) {
      expect(b).toMatchObject({ attempts: 1, response_code: "200", failure_code: null, kind: "live", events: 2, next_attempt: null });
      expect(Number.isNaN(Date.parse(b.ts))).toBe(false);
      expect(b.bytes).toBeGreaterThan(0);
    }
    expect((await batchStatus(app, wh.id, "?limit=1")).map((b) => b.batch_id)).toEqual([all[0]!.batch_id]);
    expect(await batchStatus(app, wh.id, "?state=dead")).toEqual([]);
    expect(await batchStatus(app, wh.id, "?state=delivered")).toHaveLength(3);

    for (const q of ["?limit=0", "?limit=1001", "?limit=x", "?state=gone", "?foo=1"]) {
      const res = await app.api("GET", `/webhooks/${wh.id}/batch-status${q}`);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      await errorBody(res);
    }
  });
});

describe("POST /webhooks/{id}/retry", () => {
  test("with nothing dead-lettered it requeues nothing", async () => {
    const { app, wh } = await setup();
    expect(await results<{ requeued: number }>(app.api("POST", `/webhooks/${wh.id}/retry`))).toEqual({ requeued: 0 });
  });
});

describe("rotate-secret and secret", () => {
  test("after two rotations the newest secret and the one before it both sign", async () => {
    const { rx, app, wh } = await setup();
    const s1 = wh.secret;
    const s2 = (await results<{ secret: string }>(app.api("POST", `/webhooks/${wh.id}/rotate-secret`))).secret;
    const s3 = (await results<{ secret: string }>(app.api("POST", `/webhooks/${wh.id}/rotate-secret`))).secret;
    expect(new Set([s1, s2, s3]).size).toBe(3);
    expect((await results<{ secret: string }>(app.api("GET", `/webhooks/${wh.id}/secret`))).secret).toBe(s3);

    await postEvents(app, makeEvents(1, "rot"));
    await rx.waitFor((rs) => rs.length >= 1, 5000);
    const req = rx.requests[0]!;
    new Webhook(s3).verify(req.body, req.headers);
    new Webhook(s2).verify(req.body, req.headers);
  });

  test("the list and GET never show the secret", async () => {
    const { app, wh } = await setup();
    const one = await app.api("GET", `/webhooks/${wh.id}`);
    const list = await app.api("GET", "/webhooks");
    expect(await one.text()).not.toContain(wh.secret.slice(6));
    expect(await list.text()).not.toContain(wh.secret.slice(6));
  });
});

describe("auth and unknown webhooks", () => {
  test("401 without a key, 403 without the scope, 404 for an unknown id", async () => {
    const { app, wh } = await setup();
    const readOnly = (await app.hookd.store.keys.create("read-only", ["webhooks:read"], Date.now())).key;
    const writes: [string, string, unknown?][] = [
      ["POST", `/webhooks/${wh.id}/validate`],
      ["POST", `/webhooks/${wh.id}/retry`],
      ["POST", `/webhooks/${wh.id}/replay`, { since: "2026-01-01T00:00:00Z" }],
      ["POST", `/webhooks/${wh.id}/rotate-secret`],
      ["GET", `/webhooks/${wh.id}/secret`],
    ];
    for (const [method, path, body] of [...writes, ["GET", `/webhooks/${wh.id}/batch-status`] as [string, string]]) {
      const res = await app.api(method, path, { body, key: null });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      await errorBody(res);
    }
    for (const [method, path, body] of writes) {
      const res = await app.api(method, path, { body, key: readOnly });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      await errorBody(res);
    }
    expect((await app.api("GET", `/webhooks/${wh.id}/batch-status`, { key: readOnly })).status).toBe(200);

    for (const [method, path, body] of [...writes, ["GET", `/webhooks/${wh.id}/batch-status`] as [string, string]]) {
      const res = await app.api(method, path.replace(wh.id, "01nosuchwebhook"), { body });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect((await errorBody(res)).errors[0]!.code).toBe("not_found");
    }
  });
});
