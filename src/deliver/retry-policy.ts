// When to try a failed batch again, as data plus pure functions so the schedule can be
// tested without a clock: the caller injects `random` and `nowMs`.
//
// Rules, in order:
// 1. Exponential backoff: cap = min(maxMs, baseMs * 2^(attempt-1)), then FULL jitter
//    (random() * cap) so receivers coming back from an outage are not hit by every
//    webhook at the same instant.
// 2. A timeout or a 429 means the receiver is overloaded: wait at least
//    floorAfterTimeoutMs, whatever the jitter drew.
// 3. On 429/503 a parseable Retry-After is honoured as a minimum, clamped to
//    retryAfterMaxMs so a receiver cannot park a batch for days.
// The batch is dead-lettered once the next attempt would fall after first attempt + retry_for.

export type RetryOutcome = { kind: "http"; status: number; retryAfter?: string | null } | { kind: "timeout" } | { kind: "network" };

export type RetryPolicy = {
  baseMs: number;
  maxMs: number;
  floorAfterTimeoutMs: number;
  retryAfterMaxMs: number;
};

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  baseMs: 1000,
  maxMs: 10 * 60_000,
  floorAfterTimeoutMs: 5000,
  retryAfterMaxMs: 60 * 60_000,
});

export type DeliveryVerdict = "delivered" | "retry";

export function classifyOutcome(status: number): DeliveryVerdict {
  return status >= 200 && status <= 299 ? "delivered" : "retry";
}

const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * Retry-After (RFC 9110 §10.2.3) → milliseconds from now; null when absent or malformed.
 * A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Date.parse accepts almost anything ("1.5" is a date to it); an HTTP-date always names
  // a day or month, so demand letters before trusting it.
  if (!/[a-z]/i.test(v)) return null;
  // asctime ("Sun Nov  6 08:49:37 1994") carries no zone but means GMT; Date.parse would
  // read it as local time.
  const at = Date.parse(ASCTIME.test(v) ? `${v} GMT` : v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

export function nextRetryDelay(input: {
  /** Attempts already made, 1-based: after the first failure this is 1. */
  attempt: number;
  outcome: RetryOutcome;
  policy?: Partial<RetryPolicy>;
  random: () => number;
  nowMs: number;
}): number {
  const p = { ...DEFAULT_RETRY_POLICY, ...input.policy };
  const exponent = Math.max(0, Math.floor(input.attempt) - 1);
  // 2 ** exponent overflows to Infinity for huge attempt counts; min() absorbs it.
  const cap = Math.min(p.maxMs, p.baseMs * 2 ** exponent);
  let delay = Math.floor(input.random() * cap);

  const o = input.outcome;
  if (o.kind === "timeout" || (o.kind === "http" && o.status === 429)) {
    delay = Math.max(delay, p.floorAfterTimeoutMs);
  }
  if (o.kind === "http" && (o.status === 429 || o.status === 503)) {
    const retryAfter = parseRetryAfter(o.retryAfter, input.nowMs);
    if (retryAfter !== null) delay = Math.max(delay, Math.min(retryAfter, p.retryAfterMaxMs));
  }
  return delay;
}

export function shouldDeadLetter(input: { firstAttemptAtMs: number; nowMs: number; nextDelayMs: number; retryForMs: number }): boolean {
  return input.nowMs + input.nextDelayMs > input.firstAttemptAtMs + input.retryForMs;
}
