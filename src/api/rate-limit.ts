import type { MiddlewareHandler } from "hono";
import type { AuthEnv } from "./auth.ts";
import { ApiError } from "./errors.ts";

/**
 * A token bucket per API key: `perSecond` tokens a second, bursts up to the same number.
 * In memory on purpose: limits protect this process, and a restart forgetting them is fine.
 */
export function rateLimit(perSecond: number, now: () => number = Date.now): MiddlewareHandler<AuthEnv> {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (c, next) => {
    if (perSecond <= 0) return next();
    const id = c.get("apiKey").id;
    const t = now();
    const b = buckets.get(id) ?? { tokens: perSecond, at: t };
    b.tokens = Math.min(perSecond, b.tokens + ((t - b.at) / 1000) * perSecond);
    b.at = t;
    if (b.tokens < 1) {
      buckets.set(id, b);
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
      throw new ApiError(
        {
          message: `rate limit of ${perSecond} requests per second for this API key exceeded; retry after ${retryAfter}s`,
          code: "rate_limited",
        },
        { "Retry-After": String(retryAfter) },
      );
    }
    b.tokens -= 1;
    buckets.set(id, b);
    await next();
  };
}
