import { describe, expect, test } from "bun:test";
import {
  DEFAULT_RETRY_POLICY,
  classifyOutcome,
  nextRetryDelay,
  parseRetryAfter,
  shouldDeadLetter,
  type RetryOutcome,
} from "../../src/deliver/retry-policy.ts";

const NOW = Date.parse("2025-01-01T00:00:00Z");
const network: RetryOutcome = { kind: "network" };
const delay = (attempt: number, outcome: RetryOutcome, random = 1, policy = {}) =>
  nextRetryDelay({ attempt, outcome, policy, random: () => random, nowMs: NOW });

describe("classifyOutcome", () => {
  test("only 2xx is delivered", () => {
    for (const s of [200, 201, 204, 299]) expect(classifyOutcome(s)).toBe("delivered");
    for (const s of [100, 199, 301, 302, 304, 400, 404, 410, 429, 500, 503]) expect(classifyOutcome(s)).toBe("retry");
  });
});

describe("nextRetryDelay: exponential backoff", () => {
  test("cap doubles from baseMs per attempt, reached with random → 1", () => {
    expect([1, 2, 3, 4, 5].map((a) => delay(a, network))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  test("capped at maxMs, also for absurd attempt counts", () => {
    expect(delay(30, network)).toBe(DEFAULT_RETRY_POLICY.maxMs);
    expect(delay(5000, network)).toBe(DEFAULT_RETRY_POLICY.maxMs);
    expect(delay(4, network, 1, { baseMs: 100, maxMs: 500 })).toBe(500);
  });

  test("full jitter: random() scales the whole cap", () => {
    expect(delay(3, network, 0)).toBe(0);
    expect(delay(3, network, 0.5)).toBe(2000);
    expect(delay(3, network, 0.25)).toBe(1000);
  });

  test("attempt below 1 is treated as the first", () => {
    expect(delay(0, network)).toBe(1000);
  });
});

describe("nextRetryDelay: floors", () => {
  test("timeout and 429 wait at least floorAfterTimeoutMs", () => {
    expect(delay(1, { kind: "timeout" }, 0)).toBe(DEFAULT_RETRY_POLICY.floorAfterTimeoutMs);
    expect(delay(1, { kind: "http", status: 429 }, 0)).toBe(DEFAULT_RETRY_POLICY.floorAfterTimeoutMs);
    expect(delay(1, { kind: "timeout" }, 0, { floorAfterTimeoutMs: 7000 })).toBe(7000);
  });

  test("the floor does not lower a longer backoff", () => {
    expect(delay(6, { kind: "timeout" }, 1)).toBe(32000);
  });

  test("500 and network errors get no floor", () => {
    expect(delay(1, { kind: "http", status: 500 }, 0)).toBe(0);
    expect(delay(1, network, 0)).toBe(0);
  });
});

describe("nextRetryDelay: Retry-After", () => {
  test("delta-seconds honoured on 429 and 503", () => {
    expect(delay(1, { kind: "http", status: 429, retryAfter: "120" }, 0)).toBe(120_000);
    expect(delay(1, { kind: "http", status: 503, retryAfter: "30" }, 0)).toBe(30_000);
  });

  test("HTTP-date honoured relative to the injected now", () => {
    const at = new Date(NOW + 90_000).toUTCString();
    expect(delay(1, { kind: "http", status: 503, retryAfter: at }, 0)).toBe(90_000);
  });

  test("ignored on other statuses", () => {
    expect(delay(1, { kind: "http", status: 500, retryAfter: "120" }, 0)).toBe(0);
    expect(delay(1, { kind: "http", status: 302, retryAfter: "120" }, 0)).toBe(0);
  });

  test("clamped to retryAfterMaxMs", () => {
    expect(delay(1, { kind: "http", status: 503, retryAfter: "86400" }, 0)).toBe(DEFAULT_RETRY_POLICY.retryAfterMaxMs);
    expect(delay(1, { kind: "http", status: 429, retryAfter: "600" }, 0, { retryAfterMaxMs: 60_000 })).toBe(60_000);
  });

  test("a minimum, not a replacement: a longer backoff or floor still applies", () => {
    expect(delay(6, { kind: "http", status: 503, retryAfter: "1" }, 1)).toBe(32000);
    expect(delay(1, { kind: "http", status: 429, retryAfter: "0" }, 0)).toBe(DEFAULT_RETRY_POLICY.floorAfterTimeoutMs);
  });

  test("malformed values fall back to the backoff", () => {
    for (const retryAfter of ["soon", "-5", "1.5", "", null]) {
      expect(delay(2, { kind: "http", status: 503, retryAfter }, 0.5)).toBe(1000);
    }
  });
});

describe("parseRetryAfter", () => {
  test("delta-seconds", () => {
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 5 ", NOW)).toBe(5000);
  });

  test("IMF-fixdate and the obsolete RFC 850 / asctime forms", () => {
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:01:00 GMT", NOW)).toBe(60_000);
    expect(parseRetryAfter("Wednesday, 01-Jan-25 00:00:30 GMT", NOW)).toBe(30_000);
    expect(parseRetryAfter("Wed Jan  1 00:00:10 2025", NOW)).toBe(10_000);
  });

  test("a date in the past means now", () => {
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:00:00 GMT", NOW)).toBe(0);
  });

  test("null when absent or malformed", () => {
    for (const v of [null, undefined, "", "abc", "-1", "1.5", "1e3", "Mon, 99 Foo 2025"]) {
      expect(parseRetryAfter(v, NOW)).toBeNull();
    }
  });
});

describe("shouldDeadLetter", () => {
  const first = NOW;
  const retryForMs = 4 * 3_600_000;
  test("keeps retrying while the next attempt falls inside retry_for", () => {
    expect(shouldDeadLetter({ firstAttemptAtMs: first, nowMs: first + 1000, nextDelayMs: 60_000, retryForMs })).toBe(false);
    expect(shouldDeadLetter({ firstAttemptAtMs: first, nowMs: first + retryForMs - 10, nextDelayMs: 10, retryForMs })).toBe(false);
  });

  test("dead-letters when the next attempt would fall after first attempt + retry_for", () => {
    expect(shouldDeadLetter({ firstAttemptAtMs: first, nowMs: first + retryForMs - 10, nextDelayMs: 11, retryForMs })).toBe(true);
    expect(shouldDeadLetter({ firstAttemptAtMs: first, nowMs: first + 1000, nextDelayMs: retryForMs, retryForMs })).toBe(true);
  });
});
