// Every request hookd sends is a Standard Webhooks request: receivers verify it with the
// reference library, during a secret rotation with either secret, and a retry is the same
// message (same webhook-id, same bytes) so their dedupe works.
import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { generateSecret } from "../../src/deliver/sign.ts";
import { VERSION } from "../../src/version.ts";
import {
  batchRequests,
  batchStatus,
  createWebhook,
  eventsOf,
  ids,
  makeEvents,
  postEvents,
  results,
  SAMPLE_EVENT_ID,
  startSteppedApp,
} from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import type { RecordedRequest } from "../helpers/receiver.ts";

const t = testResources();

/** standardwebhooks' verify: throws unless a signature matches `secret`; returns the parsed body. */
const verify = (secret: string, req: RecordedRequest) => new Webhook(secret).verify(req.body, req.headers);

describe("signatures", () => {
  test("the create-time test POST and delivered batches verify with the secret from create", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, `${rx.url}/hook`, { verification: "test_post" });
    expect(wh.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

    // The test POST is signed like any batch.
    expect(rx.requests).toHaveLength(1);
    const sample = rx.requests[0]!;
    expect(ids(eventsOf(sample))).toEqual([SAMPLE_EVENT_ID]);
    expect(verify(wh.secret, sample)).toEqual(JSON.parse(sample.body));

    const sent = makeEvents(3, "sig");
    await postEvents(app, sent);
    await app.after(100);
    expect(batchRequests(rx.requests)).toHaveLength(1);
    const [batch] = batchRequests(rx.requests);
    const payload = verify(wh.secret, batch!) as { event_id: string }[];
    expect(ids(payload)).toEqual(ids(sent));
    expect(batch!.method).toBe("POST");
    expect(batch!.path).toBe("/hook");
    expect(batch!.headers["content-type"]).toBe("application/json");
    expect(batch!.headers["user-agent"]).toBe(`hookd/${VERSION}`);
    expect(Math.abs(Number(batch!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    // Outside a rotation there is exactly one signature.
    expect(batch!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    // The webhook-id is the batch id that batch-status shows.
    const status = await batchStatus(app, wh.id);
    expect(status.map((b) => b.batch_id)).toContain(batch!.headers["webhook-id"]!);
    // A different secret does not verify.
    expect(() => verify(generateSecret(), batch!)).toThrow();
  });

  test("after rotate-secret a delivered batch verifies with the old secret alone and with the new one alone", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url);
    const oldSecret = wh.secret;

    await postEvents(app, makeEvents(2, "before"));
    await app.after(100);
    expect(rx.requests).toHaveLength(1);
    verify(oldSecret, rx.requests[0]!);

    const before = Date.now();
    const rotated = await results<{ secret: string; previous_secret_expires: string }>(app.api("POST", `/webhooks/${wh.id}/rotate-secret`));
    const newSecret = rotated.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    // The old secret keeps signing for 24 hours.
    const overlapMs = Date.parse(rotated.previous_secret_expires) - before;
    expect(overlapMs).toBeGreaterThan(24 * 3_600_000 - 60_000);
    expect(overlapMs).toBeLessThan(24 * 3_600_000 + 60_000);
    expect((await results<{ secret: string }>(app.api("GET", `/webhooks/${wh.id}/secret`))).secret).toBe(newSecret);

    const sent = makeEvents(4, "during");
    await postEvents(app, sent);
    await app.after(100);
    expect(rx.requests).toHaveLength(2);
    const during = rx.requests[1]!;
    expect(during.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(ids(verify(oldSecret, during) as { event_id: string }[])).toEqual(ids(sent));
    expect(ids(verify(newSecret, during) as { event_id: string }[])).toEqual(ids(sent));
    expect(() => verify(generateSecret(), during)).toThrow();
  });

  test("a retried batch has the same webhook-id and the same body bytes, and each attempt verifies", async () => {
    const rx = await t.receiver();
    rx.respondWith([{ status: 500, body: "try later" }]); // then 200s
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url);

    const sent = makeEvents(5, "retry");
    await postEvents(app, sent);
    await app.after(100);
    expect(rx.requests).toHaveLength(1);
    // FAST_RETRY's backoff is at most 500 ms.
    await app.after(500);
    expect(rx.requests).toHaveLength(2);
    const [first, second] = rx.requests;
    expect(first!.headers["webhook-id"]).toMatch(/^msg_/);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]!);
    expect(Buffer.from(second!.body).equals(Buffer.from(first!.body))).toBe(true);
    expect(ids(eventsOf(first!))).toEqual(ids(sent));
    verify(wh.secret, first!);
    verify(wh.secret, second!);

    // batch-status agrees: one batch, two attempts, delivered on the second.
    const status = await batchStatus(app, wh.id);
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({
      batch_id: first!.headers["webhook-id"],
      attempts: 2,
      state: "delivered",
      response_code: "200",
      failure_code: null,
      events: 5,
    });
    // Nothing else is sent, however long the engine runs on.
    await app.after(3_600_000);
    expect(rx.requests).toHaveLength(2);
  });
});
