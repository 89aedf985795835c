// Replays copy stored events into new batches. Repeated to a receiver that does not take
// them, they grew the store without end (10 replays of 40,000 events: 28 → 203 MB). What
// replays may leave waiting for one webhook is capped (delivery.replay_max_pending); past
// it a replay is refused with a 409 that says why and what to do.
import { expect, test } from "bun:test";
import { batchStatus, createWebhook, makeEvents, results } from "../helpers/delivery.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";

const t = testResources();

test("10 replays of 60 events to a dead receiver with replay_max_pending 150: two are queued, the rest 409 conflict; 120 replayed events wait, no more", async () => {
  const app = await t.app({ delivery: { replay_max_pending: 150 } });
  await results(app.api("POST", "/events", { body: makeEvents(60, "stored") }));
  // Nothing listens on port 9: every attempt is refused and the batches wait.
  const wh = await createWebhook(app, "http://127.0.0.1:9/dead");
  const since = new Date(Date.now() - 3_600_000).toISOString();

  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await app.api("POST", `/webhooks/${wh.id}/replay`, { body: { since } });
    statuses.push(res.status);
    if (res.status === 409) {
      const { errors } = await errorBody(res);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: "conflict", field: "since" });
      expect(errors[0]!.message).toContain("120 events from earlier replays are still waiting");
      expect(errors[0]!.message).toContain("replay_max_pending");
    } else expect((await results<{ events: number }>(res)).events).toBe(60);
  }
  expect(statuses).toEqual([200, 200, 409, 409, 409, 409, 409, 409, 409, 409]);
  const batches = await batchStatus(app, wh.id, "?limit=1000");
  expect(batches.filter((b) => b.kind === "replay").reduce((n, b) => n + b.events, 0)).toBe(120);
});
