import { describe, expect, test } from "bun:test";
import { defaultConfig } from "../../src/config/schema.ts";
import { clientIp } from "../../src/track/server.ts";
import { proxyMatcher, rateLimitOptions, workerInit } from "../../src/track/settings.ts";

const X_STORE = { driver: "sqlite" as const, path: "/x/hookd.db", url: "", node: "" };

describe("trust_proxy", () => {
  test("the default believes loopback only, in both families and as a mapped IPv4 address", () => {
    const trust = proxyMatcher(defaultConfig().tracking.trust_proxy);
    expect(["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"].map(trust)).toEqual([true, true, true, true]);
    expect(["10.0.0.1", "::2", "198.51.100.7", "", "proxy"].map(trust)).toEqual([false, false, false, false, false]);
  });

  test("networks and addresses; with X-Forwarded-For the last address no trusted proxy added is the client", () => {
    const trust = proxyMatcher(["10.0.0.0/8", "2001:db8::5"]);
    expect(["10.200.1.1", "2001:db8::5", "2001:db8::6", "11.0.0.1"].map(trust)).toEqual([true, true, false, false]);
    expect(clientIp("10.0.0.2", "203.0.113.9, 198.51.100.7, 10.0.0.3", trust)).toBe("198.51.100.7");
    expect(clientIp("198.51.100.20", "203.0.113.9", trust)).toBe("198.51.100.20"); // not a trusted peer: header ignored
  });
});

describe("[tracking] → the listener's settings", () => {
  test("fast_click in seconds, bursts of 5× the rate limit", () => {
    const t = { ...defaultConfig().tracking, fast_click: 2500, rate_limit: 7 };
    const init = workerInit(t, { store: X_STORE, logLevel: "info", host: "mx1", listen: { host: "0.0.0.0", port: 8026 } });
    expect(init).toEqual({
      store: X_STORE,
      logLevel: "info",
      host: "mx1",
      hostname: "0.0.0.0",
      port: 8026,
      fastClickSeconds: 2.5,
      rateLimit: 7,
      trustProxy: ["127.0.0.0/8", "::1"],
    });
    expect(rateLimitOptions(7)).toEqual({ perSecond: 7, burst: 35, maxClients: 50_000 });
  });
});
