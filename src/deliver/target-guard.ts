import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

// With security.allow_private_targets = false, hookd must not be usable to reach the mail
// host's own services or its cloud metadata endpoint. Names are resolved first and every
// address they resolve to is checked, on every attempt: a DNS answer can change after the
// webhook was created. The request then goes to an address that was checked (guarded-post.ts),
// never to a second answer.
//
// Addresses are judged on what they reach, not how they are spelled: a URL's IPv4 forms
// (2130706433, 0177.0.0.1, 0x7f.1, 127.1) arrive here as the dotted quad the WHATWG URL
// parser makes of them, and the IPv6 forms that carry an IPv4 address are judged by it.

/** A host name → every address it resolves to (an empty list or a throw: not resolvable). */
export type ResolveHost = (host: string) => Promise<string[]>;

const V4_BLOCKS: [number, number][] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // 169.254/16 link-local, incl. 169.254.169.254 metadata
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // 192.0.0/24
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // 198.18/15 benchmarking
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];

const LOOKUP_TIMEOUT_MS = 5000;

/** A canonical dotted quad (isIP said 4) as a 32-bit number. */
function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function isPrivateV4(n: number): boolean {
  return V4_BLOCKS.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
}

/** The eight 16-bit words of an address isIP calls IPv6 (compressed, dotted tail, any case). */
function v6Words(text: string): number[] {
  let s = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    s = `${s.slice(0, -dotted[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = "", tail] = s.split("::");
  const words = (h: string) => (h === "" ? [] : h.split(":").map((w) => parseInt(w, 16)));
  const a = words(head);
  const b = tail === undefined ? [] : words(tail);
  return [...a, ...Array<number>(8 - a.length - b.length).fill(0), ...b];
}

/**
 * The IPv4 addresses an IPv6 address stands for or carries by a standard embedding: a
 * packet to it reaches (or is translated to, or tunnelled to) one of them.
 */
function embeddedIPv4(w: readonly number[]): number[] {
  const v4 = (hi: number, lo: number) => ((hi << 16) | lo) >>> 0;
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && w[5] === 0xffff) return [v4(w[6]!, w[7]!)]; // ::ffff:a.b.c.d, IPv4-mapped (RFC 4291)
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) return [v4(w[6]!, w[7]!)]; // ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765)
  if (zeros(0, 6)) return [v4(w[6]!, w[7]!)]; // ::a.b.c.d, IPv4-compatible (deprecated, RFC 4291)
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return [v4(w[6]!, w[7]!)]; // NAT64 64:ff9b::/96 (RFC 6052)
  if (w[0] === 0x2002) return [v4(w[1]!, w[2]!)]; // 6to4 2002:a.b.c.d::/48 (RFC 3056)
  // Teredo 2001::/32 (RFC 4380): the server's address, and the client's, obfuscated (each bit flipped).
  if (w[0] === 0x2001 && w[1] === 0) return [v4(w[2]!, w[3]!), v4(w[6]! ^ 0xffff, w[7]! ^ 0xffff)];
  return [];
}

export function isPrivateAddress(ip: string): boolean {
  const a = ip.toLowerCase().replace(/^\[|\]$/g, "");
  const family = isIP(a);
  if (family === 4) return isPrivateV4(v4ToInt(a));
  if (family !== 6) return true; // not an address we understand: refuse
  const w = v6Words(a);
  if (w.slice(0, 7).every((x) => x === 0) && w[7]! <= 1) return true; // :: and ::1
  // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): where the IPv4 address sits depends on a prefix
  // length chosen by the local network, so it cannot be judged; the translator is local anyway.
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 1) return true;
  const carried = embeddedIPv4(w);
  if (carried.length) return carried.some(isPrivateV4);
  return (
    (w[0]! & 0xfe00) === 0xfc00 || // fc00::/7 unique local (incl. AWS metadata fd00:ec2::254)
    (w[0]! & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (w[0]! & 0xffc0) === 0xfec0 || // fec0::/10 site-local (deprecated, still routed inside sites)
    (w[0]! & 0xff00) === 0xff00 // multicast
  );
}

/** The system resolver, as fetch would use it (hosts file, search domains), bounded in time. */
export const systemResolve: ResolveHost = async (host) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const found = await Promise.race([
      lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), LOOKUP_TIMEOUT_MS);
      }),
    ]);
    return found.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Whether a URL may be sent to: `addresses` are what was checked — the ones to connect to
 * (null: the URL names an address itself). `unresolved`: the name gave no answer to check.
 */
export type TargetCheck = { ok: true; addresses: string[] | null } | { ok: false; unresolved: boolean; reason: string };

export async function checkTarget(url: string, resolve: ResolveHost = systemResolve): Promise<TargetCheck> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
      if (!addresses.length) throw new Error("no address");
    } catch (err) {
      // Fail closed: an answer we could not check must not become one fetch resolves alone.
      const why = err instanceof Error ? err.message : String(err);
      return {
        ok: false,
        unresolved: true,
        reason: `${host} could not be resolved to check it (${why}); security.allow_private_targets is false`,
      };
    }
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad)
    return {
      ok: false,
      unresolved: false,
      reason: `${host} resolves to ${bad}, a loopback, private or link-local address (security.allow_private_targets is false)`,
    };
  return { ok: true, addresses: isIP(host) ? null : addresses };
}

/** null when the target may be used; otherwise why not, for the API error or failure log. */
export async function privateTargetReason(url: string, resolve?: ResolveHost): Promise<string | null> {
  const c = await checkTarget(url, resolve);
  return c.ok ? null : c.reason;
}
