// auth_type "oauth2": hookd fetches a client-credentials token from a real token endpoint
// on 127.0.0.1, reuses it across batches until shortly before it expires, drops it and
// fetches a new one when the receiver answers 401 (once per attempt), reports a failing
// token endpoint as the attempt's failure code, and never shows or logs the client secret.
import { describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { createLogger } from "../../src/lib/log.ts";
import {
  batchStatus,
  createWebhook,
  getWebhook,
  postEvents,
  results,
  startSteppedApp,
  type BatchStatus,
  type EventIn,
  type SteppedApp,
} from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import type { Receiver, RecordedRequest } from "../helpers/receiver.ts";

const CLIENT_ID = "hookd-client";
const CLIENT_SECRET = "cs_9f3b7d1e5a2c4f60b8e7d6c5a4b3f2e1";
/** The retry policy the brief asks for: quick retries, so recovery shows within a second. */
const QUICK_RETRY = { baseMs: 50, maxMs: 300, floorAfterTimeoutMs: 50 };
/** One step of the engine's clock that lets any QUICK_RETRY retry (and batch_max_wait) fall due. */
const STEP = QUICK_RETRY.maxMs;

// ---------------------------------------------------------------------------------------
// A token endpoint: POST /token with an application/x-www-form-urlencoded body.

type TokenRequest = { form: Record<string, string>; contentType: string; at: number };

type TokenServer = {
  url: string;
  /** Every request, valid or not. */
  readonly requests: TokenRequest[];
  /** Access tokens issued, in order ("tok-1", "tok-2", …), with when they were issued. */
  readonly issued: { token: string; at: number }[];
  /** Answer every request with this status instead of a token (null: issue tokens). */
  failWith: number | null;
  expiresIn: number;
  /** The client secret the endpoint accepts. */
  secret: string;
  stop(): Promise<void>;
};

async function startTokenServer(opts: { expiresIn: number }): Promise<TokenServer> {
  let server: Server<undefined> | null = null;
  const ts: TokenServer = {
    url: "",
    requests: [],
    issued: [],
    failWith: null,
    expiresIn: opts.expiresIn,
    secret: CLIENT_SECRET,
    async stop() {
      await server?.stop(true);
    },
  };
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const form = Object.fromEntries(new URLSearchParams(await req.text()));
      ts.requests.push({ form, contentType: req.headers.get("content-type") ?? "", at: Date.now() });
      if (req.method !== "POST" || new URL(req.url).pathname !== "/token") return new Response("not found", { status: 404 });
      if (ts.failWith !== null) return Response.json({ error: "temporarily_unavailable" }, { status: ts.failWith });
      if (form.grant_type !== "client_credentials") return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
      if (form.client_id !== CLIENT_ID || form.client_secret !== ts.secret)
        return Response.json({ error: "invalid_client" }, { status: 401 });
      const token = `tok-${ts.issued.length + 1}`;
      ts.issued.push({ token, at: Date.now() });
      return Response.json({ access_token: token, token_type: "Bearer", expires_in: ts.expiresIn });
    },
  });
  ts.url = `http://127.0.0.1:${server.port}/token`;
  return ts;
}

// ---------------------------------------------------------------------------------------
// hookd in-process with its log captured (the delivery helpers use a silent logger), its
// delivery stepped by the test on a clock that OAuth2 token lifetimes follow too.

type LoggedApp = SteppedApp & { logLines: string[] };

async function startLoggedApp(): Promise<LoggedApp> {
  const logLines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => logLines.push(line) });
  const app = await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } }, retryPolicy: QUICK_RETRY, log });
  return { ...app, logLines };
}

const t = testResources();

async function setup(opts: { expiresIn?: number } = {}) {
  const tokens = t.track(await startTokenServer({ expiresIn: opts.expiresIn ?? 3600 }));
  const rx = await t.receiver();
  const app = t.track(await startLoggedApp());
  const wh = await createWebhook(app, `${rx.url}/hook`, {
    auth_type: "oauth2",
    auth_request_details: { url: tokens.url, body: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } },
  });
  return { tokens, rx, app, wh };
}

const one = (id: string): EventIn[] => [{ type: "delivery", event_id: id, rcpt_to: "alice@example.org" }];

/** The receiver's requests that carried the event `id`. */
function requestsWith(r: Receiver, id: string): RecordedRequest[] {
  return r.requests.filter((q) => (q.json() as { event_id: string }[]).some((e) => e.event_id === id));
}

/** POST one event and deliver it (its batch must end delivered); returns the request that carried it last. */
async function deliverOne(a: LoggedApp, r: Receiver, webhookId: string, id: string): Promise<RecordedRequest> {
  await postEvents(a, one(id));
  await a.after(STEP);
  const batchId = requestsWith(r, id).at(-1)?.headers["webhook-id"];
  expect((await batchStatus(a, webhookId)).find((b) => b.batch_id === batchId)?.state).toBe("delivered");
  return requestsWith(r, id).at(-1)!;
}

describe("oauth2 client credentials", () => {
  test("five batches: exactly one token fetch (grant_type and credentials in the form body), every batch carries Bearer <token>", async () => {
    const { tokens, rx, app, wh } = await setup();
    for (let i = 1; i <= 5; i++) await deliverOne(app, rx, wh.id, `ev-${i}`);

    const batches = new Set(rx.requests.map((r) => r.headers["webhook-id"]));
    expect(batches.size).toBe(5);
    expect(rx.requests).toHaveLength(5);
    for (const r of rx.requests) expect(r.headers.authorization).toBe("Bearer tok-1");

    expect(tokens.requests).toHaveLength(1);
    const t = tokens.requests[0]!;
    expect(t.contentType).toStartWith("application/x-www-form-urlencoded");
    expect(t.form).toEqual({ grant_type: "client_credentials", client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    // The receiver gets the token, never the client credentials.
    for (const r of rx.requests) expect(JSON.stringify(r.headers) + r.body).not.toContain(CLIENT_SECRET);
  });

  test("a token is kept until 30 s before expires_in, then fetched again", async () => {
    const { tokens, rx, app, wh } = await setup({ expiresIn: 3600 });
    const first = await deliverOne(app, rx, wh.id, "fresh");
    expect(first.headers.authorization).toBe("Bearer tok-1");
    expect(tokens.issued).toHaveLength(1);

    // 3,570 s is what the token is kept for; 10 s before that it still serves.
    app.clock.advance(3_560_000);
    expect((await deliverOne(app, rx, wh.id, "before-expiry")).headers.authorization).toBe("Bearer tok-1");
    app.clock.advance(10_000);
    const third = await deliverOne(app, rx, wh.id, "after-expiry");
    expect(third.headers.authorization).toBe("Bearer tok-2");
    expect(tokens.issued.map((t) => t.token)).toEqual(["tok-1", "tok-2"]);
    expect(tokens.requests).toHaveLength(2);
  });

  test("a 401 from the receiver drops the token; a new one is fetched and the batch retried within the same attempt", async () => {
    const { tokens, rx, app, wh } = await setup();
    // The receiver has revoked tok-1 (say): it refuses it, accepts anything newer.
    rx.respondWith((req) => (req.headers.authorization === "Bearer tok-1" ? { status: 401, body: "token revoked" } : { status: 200 }));
    await postEvents(app, one("ev-401"));
    await app.after(STEP);

    const status = await batchStatus(app, wh.id);
    expect(status).toHaveLength(1);
    const [b] = status;
    expect(b!.state).toBe("delivered");
    expect(b!.attempts).toBe(1);
    expect(b!.response_code).toBe("200");
    expect(b!.failure_code).toBeNull();

    expect(rx.requests.map((r) => r.headers.authorization)).toEqual(["Bearer tok-1", "Bearer tok-2"]);
    // The same batch twice: same webhook-id, same body.
    expect(rx.requests[1]!.headers["webhook-id"]).toBe(rx.requests[0]!.headers["webhook-id"]!);
    expect(rx.requests[1]!.body).toBe(rx.requests[0]!.body);
    expect(tokens.issued.map((t) => t.token)).toEqual(["tok-1", "tok-2"]);

    // The fresh token is kept for the next batch.
    const next = await deliverOne(app, rx, wh.id, "ev-after-401");
    expect(next.headers.authorization).toBe("Bearer tok-2");
    expect(tokens.requests).toHaveLength(2);
  });

  test("a receiver that refuses every token: one refetch per attempt, not a loop; the attempt fails with http_401", async () => {
    const { tokens, rx, app, wh } = await setup();
    rx.respondWith({ status: 401, body: "no" });
    await postEvents(app, one("ev-always-401"));
    await app.after(STEP);
    await app.after(STEP);

    const s = await batchStatus(app, wh.id);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ state: "pending", attempts: 2, failure_code: "http_401" });
    const attempts = tokensPerAttempt(rx.requests);
    // Each attempt: the token it had (401), then one fresh token (401), then it gives up.
    expect(attempts).toHaveLength(2);
    for (const [i, pair] of attempts.entries()) {
      expect(pair).toHaveLength(2);
      expect(pair[1]).toBe(`Bearer tok-${i + 2}`);
      expect(pair[0]).toBe(`Bearer tok-${i + 1}`);
    }
    expect(tokens.issued).toHaveLength(attempts.length + 1);
  });

  test("token endpoint answering 500: the attempt fails with oauth2_http_500 (batch-status, webhook); delivered once it recovers", async () => {
    const { tokens, rx, app, wh } = await setup();
    tokens.failWith = 500;
    await postEvents(app, one("ev-token-down"));
    await app.after(STEP);
    await app.after(STEP);

    const [failed, ...others] = await batchStatus(app, wh.id);
    expect(others).toHaveLength(0);
    expect(failed).toMatchObject({
      state: "pending",
      attempts: 2,
      failure_code: "oauth2_http_500",
      response_code: null,
    } satisfies Partial<BatchStatus>);
    // Without a token nothing is sent to the receiver.
    expect(rx.requests).toHaveLength(0);
    expect(tokens.requests.length).toBeGreaterThanOrEqual(2);
    const w = await getWebhook(app, wh.id);
    expect(w.last_failure_code).toBe("oauth2_http_500");

    tokens.failWith = null;
    await app.after(STEP);
    const [done] = await batchStatus(app, wh.id);
    expect(done).toMatchObject({ state: "delivered", response_code: "200", failure_code: null });
    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]!.headers.authorization).toBe("Bearer tok-1");
    expect(rx.requests[0]!.json()).toMatchObject([{ event_id: "ev-token-down" }]);
  });

  test("the client secret (and the tokens) never appear in the API's answers or in hookd's log", async () => {
    const { tokens, rx, app, wh } = await setup();
    // A flow that logs as much as it can: token endpoint down, then a 401, then delivery.
    tokens.failWith = 500;
    await postEvents(app, one("ev-log-1"));
    await app.after(STEP);
    expect((await batchStatus(app, wh.id))[0]?.failure_code).toBe("oauth2_http_500");
    rx.respondWith((req) => (req.headers.authorization === "Bearer tok-1" ? { status: 401 } : { status: 200 }));
    tokens.failWith = null;
    await app.after(STEP);
    expect((await batchStatus(app, wh.id))[0]?.state).toBe("delivered");
    expect(tokens.issued.map((t) => t.token)).toEqual(["tok-1", "tok-2"]);

    const view = await results<{
      auth_type: string;
      auth_request_details: { url: string; body: { client_id: string; client_secret: string } };
    }>(app.api("GET", `/webhooks/${wh.id}`));
    expect(view.auth_type).toBe("oauth2");
    expect(view.auth_request_details.url).toBe(tokens.url);
    expect(view.auth_request_details.body.client_id).toBe(CLIENT_ID);
    expect(view.auth_request_details.body.client_secret).not.toBe(CLIENT_SECRET);

    const batchId = (await batchStatus(app, wh.id))[0]!.batch_id;
    const views = [
      `/webhooks/${wh.id}`,
      "/webhooks",
      "/accounts/current/webhooks",
      `/webhooks/${wh.id}/batch-status`,
      `/webhooks/${wh.id}/batches/${batchId}`,
    ];
    for (const path of views) {
      const res = await app.api("GET", path);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(CLIENT_SECRET);
    }

    // Changing the credentials: the answer does not echo the new secret either, and the
    // next batch is sent with a token fetched with the new credentials.
    const NEW_SECRET = "cs_new_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    tokens.secret = NEW_SECRET;
    const patched = await app.api("PATCH", `/webhooks/${wh.id}`, {
      body: { auth_request_details: { url: tokens.url, body: { client_id: CLIENT_ID, client_secret: NEW_SECRET } } },
    });
    expect(patched.status).toBe(200);
    expect(await patched.text()).not.toContain(NEW_SECRET);
    await postEvents(app, one("ev-log-2"));
    await app.after(STEP);
    expect(requestsWith(rx, "ev-log-2").map((r) => r.headers.authorization)).toEqual(["Bearer tok-3"]);
    expect(tokens.requests.at(-1)!.form.client_secret).toBe(NEW_SECRET);

    await app.stop();
    expect(app.logLines.length).toBeGreaterThan(3);
    const log = app.logLines.join("\n");
    expect(log).toContain("oauth2_http_500"); // the failure is logged…
    for (const secret of [CLIENT_SECRET, NEW_SECRET, ...tokens.issued.map((t) => t.token)]) expect(log).not.toContain(secret); // …the secrets are not
  });
});

/** The Authorization header of each request, grouped per attempt: an attempt's requests are back to back, and each attempt is exactly two here. */
function tokensPerAttempt(requests: readonly RecordedRequest[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < requests.length; i += 2) out.push(requests.slice(i, i + 2).map((r) => r.headers.authorization ?? ""));
  return out;
}
