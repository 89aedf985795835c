// How an attempt's end becomes its attempts row and the batch's next state (outcome.ts), and
// the private-target refusal as a result of its own (guarded-post.ts, attempt.ts).
import { describe, expect, test } from "bun:test";
import { attemptFailureCode, attemptRetryOutcome, describeAttempt, succeeded } from "../../src/deliver/attempt.ts";
import { guardedPost } from "../../src/deliver/guarded-post.ts";
import { finishAttempt, type AttemptEnd, type RetryRules } from "../../src/deliver/outcome.ts";
import type { ClaimedBatch } from "../../src/store/driver.ts";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

const FIRST = 1_000_000;
const batch = (attempts: number): ClaimedBatch => ({
  id: "msg_1",
  webhook_id: "wh_1",
  body_id: 7,
  attempts,
  first_attempt_at: FIRST,
  event_count: 3,
});
const claim = (attempts = 1) => ({ w: { id: "wh_1" }, batch: batch(attempts), token: "lease-1" });
/** random() = 1: every backoff is its cap (baseMs · 2^(attempt-1)). */
const rules: RetryRules = { policy: { baseMs: 1000, maxMs: 60_000, floorAfterTimeoutMs: 5000 }, random: () => 1, retryForMs: 3_600_000 };
const response = (status: number, bodySnippet = "", headers: Record<string, string> = {}): AttemptEnd => ({
  kind: "response",
  status,
  headers,
  bodySnippet,
  bodyBytesRead: bodySnippet.length,
  latencyMs: 12,
});

describe("finishAttempt", () => {
  test("a 2xx: delivered, the row carries status, latency, lease token and the answer's first 512 characters", () => {
    const f = finishAttempt(claim(), FIRST, response(200, "x".repeat(2000)), FIRST + 12, rules);
    expect(f.outcome).toEqual({ kind: "delivered" });
    expect(f.record).toEqual({
      batchId: "msg_1",
      webhookId: "wh_1",
      token: "lease-1",
      attempt: 1,
      startedAt: FIRST,
      latencyMs: 12,
      responseCode: 200,
      failureCode: null,
      responseSnippet: "x".repeat(512),
    });
    expect(f.at).toBe(FIRST + 12);
  });

  test("a 500 on the third attempt: retried after the policy's delay for attempt 3", () => {
    const f = finishAttempt(claim(3), FIRST, response(500, "oops"), FIRST + 100, rules);
    expect(f.outcome).toEqual({ kind: "retry", nextAttemptAt: FIRST + 100 + 4000 });
    expect(f.record).toMatchObject({ attempt: 3, responseCode: 500, failureCode: "http_500", responseSnippet: "oops" });
  });

  test("a 429's Retry-After and a timeout's floor set the delay", () => {
    expect(finishAttempt(claim(), FIRST, response(429, "", { "retry-after": "30" }), FIRST, rules).outcome).toEqual({
      kind: "retry",
      nextAttemptAt: FIRST + 30_000,
    });
    const timeout = finishAttempt(claim(), FIRST, { kind: "timeout", latencyMs: 6000 }, FIRST + 6000, rules);
    expect(timeout.outcome).toEqual({ kind: "retry", nextAttemptAt: FIRST + 6000 + 5000 });
    expect(timeout.record).toMatchObject({ responseCode: null, failureCode: "timeout", responseSnippet: null, latencyMs: 6000 });
  });

  test("past retry_for: dead", () => {
    const late = FIRST + rules.retryForMs - 500;
    expect(finishAttempt(claim(2), FIRST, response(503), late, rules).outcome).toEqual({ kind: "dead" });
  });

  test("a refused private target, an OAuth2 failure and a crash: their own codes and texts, retried like a network error", () => {
    const refused = finishAttempt(
      claim(),
      FIRST,
      { kind: "private_target", reason: "localhost resolves to 127.0.0.1", latencyMs: 0 },
      FIRST,
      rules,
    );
    expect(refused.record).toMatchObject({
      failureCode: "private_target",
      responseSnippet: "localhost resolves to 127.0.0.1",
      responseCode: null,
    });
    const auth = finishAttempt(
      claim(),
      FIRST,
      { kind: "auth", failureCode: "oauth2_http_500", detail: "the token endpoint answered HTTP 500", latencyMs: 3 },
      FIRST,
      rules,
    );
    expect(auth.record).toMatchObject({ failureCode: "oauth2_http_500", responseSnippet: "the token endpoint answered HTTP 500" });
    const crashed = finishAttempt(claim(), FIRST, { kind: "crashed", error: "boom ".repeat(200), latencyMs: 1 }, FIRST, rules);
    expect(crashed.record).toMatchObject({ failureCode: "internal_error", responseCode: null, latencyMs: 1 });
    expect(crashed.record.responseSnippet).toHaveLength(512);
    // Network errors have no floor: all three wait the plain backoff of attempt 1.
    for (const f of [refused, auth, crashed]) expect(f.outcome).toEqual({ kind: "retry", nextAttemptAt: FIRST + 1000 });
  });
});

describe("guardedPost", () => {
  test("a private target is refused without connecting, as a private_target result; allowed, it is sent", async () => {
    const rx = await t.receiver();
    const input = {
      url: `${rx.url}/hook`,
      body: new TextEncoder().encode("[]"),
      headers: { "content-type": "application/json" },
      timeoutMs: 2000,
    };
    const refused = await guardedPost(input, false);
    if (refused.kind !== "private_target") throw new Error(`expected a refusal, got ${refused.kind}`);
    expect(refused.reason).toContain("127.0.0.1");
    expect(rx.requests).toHaveLength(0);
    expect(attemptFailureCode(refused)).toBe("private_target");
    expect(attemptRetryOutcome(refused)).toEqual({ kind: "network" });
    expect(describeAttempt(refused)).toBe(refused.reason);
    expect(succeeded(refused)).toBe(false);

    const sent = await guardedPost(input, true);
    expect(sent.kind).toBe("response");
    expect(rx.requests).toHaveLength(1);
  });
});
