// A token bucket per client IP for the public listener, in bounded memory: at most
// `maxClients` buckets, the least recently seen dropped first (a Map keeps insertion order;
// a bucket that is used moves to the end). A dropped bucket comes back full — a flood from
// more addresses than `maxClients` is limited only per address it can keep. In memory on
// purpose: limits protect this process, and a restart forgetting them is fine.

export type RateLimitOptions = {
  /** Sustained requests a second per IP. */
  perSecond: number;
  /** Requests an IP may send at once (a mail with many images, a reader clicking around). */
  burst: number;
  maxClients: number;
};

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 20, burst: 100, maxClients: 50_000 };

export type RateLimiter = {
  /** 0 when allowed (and counted); else the seconds until one more request is allowed. */
  take(ip: string, nowMs: number): number;
  size(): number;
};

export function createRateLimiter(opts: RateLimitOptions): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(ip, now) {
      if (opts.perSecond <= 0) return 0;
      let b = buckets.get(ip);
      if (b) {
        buckets.delete(ip);
        b.tokens = Math.min(opts.burst, b.tokens + ((now - b.at) / 1000) * opts.perSecond);
        b.at = now;
      } else {
        b = { tokens: opts.burst, at: now };
        if (buckets.size >= opts.maxClients) buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(ip, b);
      if (b.tokens < 1) return Math.max(1, Math.ceil((1 - b.tokens) / opts.perSecond));
      b.tokens -= 1;
      return 0;
    },
    size: () => buckets.size,
  };
}
