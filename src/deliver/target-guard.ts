import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

// With security.allow_private_targets = false, hookd must not be usable to reach the mail
// host's own services or its cloud metadata endpoint. Names are resolved first and every
// address they resolve to is checked, on every attempt: a DNS answer can change after the
// webhook was created.

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

function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** The eight 16-bit words of an IPv6 address in any spelling (compressed, dotted tail), or null. */
function v6Words(text: string): number[] | null {
  let s = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    s = `${s.slice(0, -dotted[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const part = (h: string) => (h === "" ? [] : h.split(":").map((w) => parseInt(w, 16)));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const words = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return words.some((w) => Number.isNaN(w) || w < 0 || w > 0xffff) ? null : words;
}

const LOOKUP_TIMEOUT_MS = 5000;

export function isPrivateAddress(ip: string): boolean {
  const a = ip.toLowerCase().replace(/^\[|\]$/g, "");
  if (isIP(a) === 4) {
    const n = v4ToInt(a);
    return V4_BLOCKS.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
  }
  const w = v6Words(a);
  if (!w) return true; // not an address we understand: refuse
  const v4 = (hi: number, lo: number) => `${hi >>> 8}.${hi & 255}.${lo >>> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zeros(0, 7) && (w[7] === 0 || w[7] === 1)) return true; // :: and ::1
  if (zeros(0, 5) && w[5] === 0xffff) return isPrivateAddress(v4(w[6]!, w[7]!)); // ::ffff:a.b.c.d
  if (zeros(0, 6)) return isPrivateAddress(v4(w[6]!, w[7]!)); // ::a.b.c.d (IPv4-compatible)
  if (w[0] === 0x2002) return isPrivateAddress(v4(w[1]!, w[2]!)); // 6to4 2002:a.b.c.d::/48
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return isPrivateAddress(v4(w[6]!, w[7]!)); // NAT64 64:ff9b::/96
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 1) return true; // local-use NAT64 64:ff9b:1::/48
  return (
    (w[0]! & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (w[0]! & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (w[0]! & 0xff00) === 0xff00 || // multicast
    (w[0] === 0xfd00 && w[1] === 0x0ec2) // AWS IPv6 metadata fd00:ec2::254
  );
}

/** null when the target may be used; otherwise why not, for the API error or failure log. */
export async function privateTargetReason(url: string): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      const found = await Promise.race([
        lookup(host, { all: true, verbatim: true }),
        Bun.sleep(LOOKUP_TIMEOUT_MS).then(() => Promise.reject(new Error("timed out"))),
      ]);
      addresses = found.map((a) => a.address);
    } catch (err) {
      // Fail closed: an answer we could not check must not become one fetch resolves alone.
      return `${host} could not be resolved to check it (${err instanceof Error ? err.message : String(err)}); security.allow_private_targets is false`;
    }
  }
  const bad = addresses.find(isPrivateAddress);
  return bad ? `${host} resolves to ${bad}, a loopback, private or link-local address (security.allow_private_targets is false)` : null;
}
