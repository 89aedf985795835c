// A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for tests: TXT answers from a
// map the test changes while it runs, NXDOMAIN for names it does not know. Enough for a
// stub resolver (node:dns Resolver with setServers(["127.0.0.1:PORT"])) and nothing more:
// one question per message, no compression in questions, no TCP, no EDNS in answers.
//
// Wire format (RFC 1035 §4): a 12-byte header (id, flags, qd/an/ns/ar counts), the question
// (QNAME as length-prefixed labels ending in 0, QTYPE, QCLASS), then answer records:
// NAME (here a pointer 0xC00C to the question's name), TYPE, CLASS, TTL, RDLENGTH, RDATA.
// A TXT record's RDATA is one or more <length byte><up to 255 bytes> strings.

export const TYPE_TXT = 16;
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

/** The answer to one query message; null when it is too short to even carry an id. */
export function answerQuery(msg: Uint8Array, lookup: (name: string) => string[] | undefined, onQuery?: (q: DnsQuery) => void): Uint8Array | null {
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

  const records = lookup(name);
  if (records === undefined) return concat([header(id, flags, RCODE_NXDOMAIN, 1, 0), question]);
  // The name exists: TXT questions get its records, any other type an empty NOERROR.
  const answers = qtype === TYPE_TXT && qclass === CLASS_IN ? records : [];
  const rrs = answers.map((text) => {
    const rdata = txtRdata(text);
    const rr = new Uint8Array(12 + rdata.length);
    const rv = new DataView(rr.buffer);
    rv.setUint16(0, 0xc00c); // pointer to the name in the question (offset 12)
    rv.setUint16(2, TYPE_TXT);
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
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(sock, data, port, address) {
        const reply = answerQuery(new Uint8Array(data), (name) => zone.get(name), (q) => queries.push(q));
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
    remove(name) {
      zone.delete(normalize(name));
    },
    stop() {
      socket.close();
    },
  };
}
