// "Check now": POST /webhooks/validate sends every webhook what POST /webhooks/{id}/validate
// would, a few at a time, and answers one result per webhook with its id and name.
import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { VALIDATE_ALL_CONCURRENCY } from "../../src/webhooks/actions.ts";
import { createWebhook, eventsOf, results, startDeliveryApp } from "../helpers/delivery.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";

const t = testResources();

type Checked = {
  id: string;
  name: string;
  msg: string;
  response: { status: number | null; headers: Record<string, string>; body: string };
  latency_ms: number;
  failure_code: string | null;
};

async function setup() {
  const rx = await t.receiver();
  const app = t.track(await startDeliveryApp());
  return { rx, app };
}

describe("POST /webhooks/validate", () => {
  test("one result per webhook, in the list's order: what each receiver answered, or why nothing did", async () => {
    const { rx, app } = await setup();
    rx.respondWith((req) => (req.path === "/down" ? { status: 503, body: "maintenance" } : { status: 200, body: `ok ${req.path}` }));
    const closed = await t.receiver();
    const closedUrl = closed.url;
    await closed.close();

    const ok = await createWebhook(app, `${rx.url}/ok`, { name: "Bounces", events: ["bounce"] });
    const down = await createWebhook(app, `${rx.url}/down`, { name: "Down", events: ["*"] });
    const sg = await createWebhook(app, `${rx.url}/sg`, { name: "SendGrid opens", events: ["open"], format: "sendgrid" });
    const gone = await createWebhook(app, `${closedUrl}/gone`, { name: "Gone", events: ["delivery"] });
    const listed = (await results<{ id: string }[]>(app.api("GET", "/webhooks"))).map((w) => w.id);

    const checked = await results<Checked[]>(app.api("POST", "/webhooks/validate"));
    expect(checked.map((c) => c.id)).toEqual(listed);
    const by = Object.fromEntries(checked.map((c) => [c.id, c]));
    expect(by[ok.id]).toMatchObject({
      name: "Bounces",
      msg: "Test POST to webhook succeeded",
      response: { status: 200, body: "ok /ok" },
      failure_code: null,
    });
    expect(by[down.id]).toMatchObject({ name: "Down", response: { status: 503, body: "maintenance" }, failure_code: "http_503" });
    expect(by[down.id]!.msg).toBe("Test POST to webhook failed: the receiver answered HTTP 503");
    expect(by[sg.id]).toMatchObject({ name: "SendGrid opens", response: { status: 200 }, failure_code: null });
    expect(by[gone.id]).toMatchObject({ name: "Gone", response: { status: null, body: "" }, failure_code: "connection_refused" });
    for (const c of checked) expect(c.latency_ms).toBeGreaterThanOrEqual(0);

    // Each reachable receiver got one signed sample of what it subscribes to.
    const at = (path: string) => rx.requests.filter((r) => r.path === path);
    expect(at("/ok")).toHaveLength(1);
    expect(eventsOf(at("/ok")[0]!).map((e) => e.type)).toEqual(["bounce"]);
    new Webhook(ok.secret).verify(at("/ok")[0]!.body, at("/ok")[0]!.headers);
    expect((at("/sg")[0]!.json() as { event: string }[]).map((e) => e.event)).toEqual(["open"]);
    expect(at("/down")).toHaveLength(1);
  });

  test("at most VALIDATE_ALL_CONCURRENCY requests at once; no webhooks is an empty list", async () => {
    const { rx, app } = await setup();
    expect(await results<Checked[]>(app.api("POST", "/webhooks/validate"))).toEqual([]);

    let inFlight = 0;
    let most = 0;
    rx.respondWith(async () => {
      most = Math.max(most, ++inFlight);
      // A slow receiver, so the requests overlap. A real wait, on purpose: "never more than
      // N at once" is an absence, shown only by holding each request long enough for hookd
      // to send more if it would.
      await Bun.sleep(150);
      inFlight--;
      return { status: 200 };
    });
    const n = VALIDATE_ALL_CONCURRENCY * 2 + 1;
    for (let i = 0; i < n; i++) await createWebhook(app, `${rx.url}/h${i}`, { name: `h${i}` });
    const checked = await results<Checked[]>(app.api("POST", "/webhooks/validate"));
    expect(checked).toHaveLength(n);
    expect(checked.every((c) => c.failure_code === null)).toBe(true);
    expect(rx.requests).toHaveLength(n);
    expect(most).toBe(VALIDATE_ALL_CONCURRENCY);
  });

  test("needs webhooks:write", async () => {
    const { app } = await setup();
    const reader = (await app.hookd.store.keys.create("reader", ["webhooks:read"], Date.now())).key;
    const res = await app.api("POST", "/webhooks/validate", { key: reader });
    expect(res.status).toBe(403);
    expect((await errorBody(res)).errors[0]!.code).toBe("forbidden");
  });
});
