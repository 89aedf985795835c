// A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for tests: TXT answers from a
// map the test changes while it runs, A/AAAA answers that may change from one question to
// the next (a rebinding DNS), NXDOMAIN for names it does not know. Enough for a stub
// resolver (node:dns Resolver with setServers(["127.0.0.1:PORT"])) and nothing more:
// one question per message, no compression in questions, no TCP, no EDNS in answers.
//
// Wire format (RFC 1035 §4): a 12-byte header (id, flags, qd/an/ns/ar counts), the question
// (QNAME as length-prefixed labels ending in 0, QTYPE, QCLASS), then answer records:
// NAME (here a pointer 0xC00C to the question's name), TYPE, CLASS, TTL, RDLENGTH, RDATA.
// A TXT record's RDATA is one or more <length byte><up to 255 bytes> strings.

import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";

export const TYPE_A = 1;
export const TYPE_TXT = 16;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

export type DnsQuery = { name: string; type: number; receivedAt: number };

export type DnsServer = {
  /** "127.0.0.1:PORT", as [verification] dns_servers wants it. */
  readonly address: string;
  readonly port: number;
  /** Every question received, in order (names lower-cased, without the trailing dot). */
  readonly queries: readonly DnsQuery[];
  /** Publish the TXT records of `name` (each string one record), replacing earlier ones. */
  setTxt(name: string, records: string[]): void;
  /**
   * Answer A/AAAA questions for `name` from `answers`: the n-th question of a type gets the
   * addresses of that family in answers[n] (the last entry once they run out). So
   * [["192.0.2.1"], ["127.0.0.1"]] answers a public address once, then loopback.
   */
  setAddresses(name: string, answers: string[][]): void;
  /** Forget `name`: it answers NXDOMAIN again. */
  remove(name: string): void;
  stop(): void;
};

const normalize = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** QNAME at `offset` → the name and the offset just after it; null if malformed or compressed. */
function readName(msg: Uint8Array, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let i = offset;
  for (;;) {
    if (i >= msg.length) return null;
    const len = msg[i]!;
    if (len === 0) return { name: labels.join("."), end: i + 1 };
    if (len > 63 || i + 1 + len > msg.length) return null;
    labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
}

/** One TXT record's RDATA: the text cut into length-prefixed chunks of at most 255 bytes. */
function txtRdata(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const parts: number[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(chunk.length, ...chunk);
  }
  return Uint8Array.from(parts);
}

function header(id: number, queryFlags: number, rcode: number, qd: number, an: number): Uint8Array {
  const h = new Uint8Array(12);
  const v = new DataView(h.buffer);
  v.setUint16(0, id);
  // QR=1 (response), opcode and RD copied from the query, AA=1, RA=1.
  const opcodeAndRd = queryFlags & 0x7900;
  v.setUint16(2, 0x8000 | opcodeAndRd | 0x0400 | 0x0080 | (rcode & 0xf));
  v.setUint16(4, qd);
  v.setUint16(6, an);
  return h;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An address as A (4 bytes) or AAAA (16 bytes) RDATA. */
function addressRdata(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split(".").map(Number));
  const [head = "", tail] = ip.split("::");
  const words = (h: string) => (h === "" ? [] : h.split(":").map((w) => parseInt(w, 16)));
  const a = words(head);
  const b = tail === undefined ? [] : words(tail);
  const all = [...a, ...Array<number>(8 - a.length - b.length).fill(0), ...b];
  return Uint8Array.from(all.flatMap((w) => [w >> 8, w & 255]));
}

/** What a name holds, per question type: TXT strings, or RDATA already encoded (A, AAAA). */
export type RecordsOf = (name: string, type: number) => { type: number; rdata: Uint8Array }[] | undefined;

/** The answer to one query message; null when it is too short to even carry an id. */
export function answerQuery(
  msg: Uint8Array,
  lookup: (name: string) => string[] | undefined,
  onQuery?: (q: DnsQuery) => void,
  records?: RecordsOf,
): Uint8Array | null {
  if (msg.length < 12) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const id = v.getUint16(0);
  const flags = v.getUint16(2);
  const qdcount = v.getUint16(4);
  if ((flags & 0x7800) !== 0) return header(id, flags, RCODE_NOTIMP, 0, 0); // opcode ≠ QUERY
  const q = qdcount === 1 ? readName(msg, 12) : null;
  if (!q || q.end + 4 > msg.length) return header(id, flags, RCODE_FORMERR, 0, 0);
  const qtype = v.getUint16(q.end);
  const qclass = v.getUint16(q.end + 2);
  const name = normalize(q.name);
  onQuery?.({ name, type: qtype, receivedAt: Date.now() });
  const question = msg.subarray(12, q.end + 4);

  const txt = lookup(name);
  const other = qclass === CLASS_IN && qtype !== TYPE_TXT ? records?.(name, qtype) : undefined;
  if (txt === undefined && other === undefined) return concat([header(id, flags, RCODE_NXDOMAIN, 1, 0), question]);
  // The name exists: each type gets its records, a type it has none of an empty NOERROR.
  const answers =
    qtype === TYPE_TXT && qclass === CLASS_IN ? (txt ?? []).map((text) => ({ type: TYPE_TXT, rdata: txtRdata(text) })) : (other ?? []);
  const rrs = answers.map(({ type, rdata }) => {
    const rr = new Uint8Array(12 + rdata.length);
    const rv = new DataView(rr.buffer);
    rv.setUint16(0, 0xc00c); // pointer to the name in the question (offset 12)
    rv.setUint16(2, type);
    rv.setUint16(4, CLASS_IN);
    rv.setUint32(6, 0); // TTL 0: resolvers must not cache what the test is about to change
    rv.setUint16(10, rdata.length);
    rr.set(rdata, 12);
    return rr;
  });
  return concat([header(id, flags, RCODE_NOERROR, 1, rrs.length), question, ...rrs]);
}

export async function startDnsServer(initial: Record<string, string[]> = {}): Promise<DnsServer> {
  const zone = new Map<string, string[]>(Object.entries(initial).map(([k, v]) => [normalize(k), [...v]]));
  const queries: DnsQuery[] = [];
  const addresses = new Map<string, { answers: string[][]; asked: Map<number, number> }>();
  const records: RecordsOf = (name, type) => {
    const a = addresses.get(name);
    if (!a) return undefined;
    const n = a.asked.get(type) ?? 0;
    a.asked.set(type, n + 1);
    const family = type === TYPE_A ? 4 : type === TYPE_AAAA ? 6 : 0;
    const now = a.answers[Math.min(n, a.answers.length - 1)] ?? [];
    return now.filter((ip) => isIP(ip) === family).map((ip) => ({ type, rdata: addressRdata(ip) }));
  };
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(sock, data, port, address) {
        const reply = answerQuery(
          new Uint8Array(data),
          (name) => zone.get(name),
          (q) => queries.push(q),
          records,
        );
        if (reply) sock.send(reply, port, address);
      },
    },
  });
  const port = socket.port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    queries,
    setTxt(name, records) {
      zone.set(normalize(name), [...records]);
    },
    setAddresses(name, answers) {
      addresses.set(normalize(name), { answers: answers.map((a) => [...a]), asked: new Map() });
    },
    remove(name) {
      zone.delete(normalize(name));
      addresses.delete(normalize(name));
    },
    stop() {
      socket.close();
    },
  };
}

/**
 * A resolver for hookd's private-target guard that asks only `server` (A and AAAA), as the
 * system resolver would ask the network's: what the guard checks is what this server said.
 */
export function resolveWith(server: Pick<DnsServer, "address">): (host: string) => Promise<string[]> {
  return async (host) => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([server.address]);
    // Bun reports a name without records of one family as ENOTFOUND, like one that does not
    // exist: the name fails only when neither family answers.
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    if (v4.status === "rejected" && v6.status === "rejected") throw v4.reason;
    return [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
  };
}
