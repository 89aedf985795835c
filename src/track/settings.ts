import type { StoreTarget } from "../store/open.ts";
import { BlockList } from "node:net";
import { parseCidr, type TrackingConfig } from "../config/schema.ts";
import type { TrackWorkerInit } from "./worker-protocol.ts";

// [tracking] as the listener uses it: pure translations of the config.

/** Whether a peer address is one of the trusted proxies (addresses or networks, either family). */
export function proxyMatcher(list: readonly string[]): (ip: string) => boolean {
  const block = new BlockList();
  for (const entry of list) {
    const c = parseCidr(entry);
    if (c) block.addSubnet(c.address, c.prefix, c.family);
  }
  return (ip) => {
    if (!ip) return false;
    try {
      return block.check(ip, ip.includes(":") ? "ipv6" : "ipv4");
    } catch {
      return false; // not an address
    }
  };
}

/** Burst per client: a mail with many images, a reader clicking around. */
export const BURST_FACTOR = 5;

export function rateLimitOptions(perSecond: number) {
  return { perSecond, burst: perSecond * BURST_FACTOR, maxClients: 50_000 };
}

export function workerInit(
  t: TrackingConfig,
  opts: { store: StoreTarget; logLevel: TrackWorkerInit["logLevel"]; host: string; listen: { host: string; port: number } },
): TrackWorkerInit {
  return {
    store: opts.store,
    logLevel: opts.logLevel,
    host: opts.host,
    hostname: opts.listen.host,
    port: opts.listen.port,
    fastClickSeconds: t.fast_click / 1000,
    rateLimit: t.rate_limit,
    trustProxy: [...t.trust_proxy],
  };
}
