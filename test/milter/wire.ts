// Milter bytes built by hand for the tests, from the protocol's documented layouts (libmilter
// mfdef.h; Postfix milter8.c), without calling src/milter: a packet is a 4-byte big-endian
// length (command byte + data), the command byte, the data; strings end in NUL.

export type Part = number[] | string | Uint8Array;

/** Bytes from parts: arrays of byte values, strings (UTF-8), byte arrays. */
export function bytes(...parts: Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));
}

/** A big-endian uint32 as 4 byte values. */
export function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** A packet: length prefix (1 + data length), command, data. */
export function packet(code: string, ...data: Part[]): Buffer {
  const d = bytes(...data);
  return bytes(be32(1 + d.length), code, d);
}

/** A NUL-terminated string. */
export const cstr = (s: string): Buffer => bytes(s, [0]);

export type Packet = { code: string; data: Buffer };

/** Splits complete packets off the front of `buf`; returns them and the rest. */
export function splitPackets(buf: Buffer): { packets: Packet[]; rest: Buffer } {
  const packets: Packet[] = [];
  let at = 0;
  while (buf.length - at >= 4) {
    const len = buf.readUInt32BE(at);
    if (buf.length - at < 4 + len) break;
    packets.push({ code: String.fromCharCode(buf[at + 4]!), data: buf.subarray(at + 5, at + 4 + len) });
    at += 4 + len;
  }
  return { packets, rest: buf.subarray(at) };
}

/** NUL-separated strings of a packet's data (the trailing NUL ends the last one). */
export function strings(data: Buffer): string[] {
  const s = data.toString("utf8");
  return s.endsWith("\0") ? s.slice(0, -1).split("\0") : s.split("\0");
}

// What Postfix 3.7 offers (milter_protocol = 6): every action up to SETSYMLIST (0x1ff) and
// every protocol flag up to HDR_LEADSPC (0x1fffff); no MDS_* sizes.
export const POSTFIX_ACTIONS = 0x1ff;
export const POSTFIX_PROTOCOL = 0x1fffff;

export function optneg(version: number, actions: number, protocol: number): Buffer {
  return packet("O", be32(version), be32(actions), be32(protocol));
}

/** SMFIC_MACRO: the command the macros belong to, then name NUL value NUL pairs. */
export function macro(stage: string, pairs: [string, string][] = []): Buffer {
  return packet("D", stage, ...pairs.flatMap(([n, v]) => [cstr(n), cstr(v)]));
}

export type PostfixMessage = {
  queueId: string;
  from: string;
  rcpts: string[];
  headers: [string, string][];
  bodyChunks: (string | Buffer)[];
};

/** One message as Postfix's smtpd sends it after negotiation with hookd's flags (observed):
 *  macros before every event — `i` unknown at MAIL and the first RCPT, known from the second
 *  RCPT on —, addresses in <>, values with their leading space (HDR_LEADSPC), DATA's macros
 *  without DATA itself (NODATA), macros before each header and body chunk, then EOB. */
export function postfixMessage(m: PostfixMessage): Buffer {
  const i = (): [string, string][] => [["i", m.queueId]];
  const parts: Buffer[] = [macro("M"), packet("M", cstr(`<${m.from}>`), cstr("SIZE=1000"))];
  m.rcpts.forEach((r, n) => parts.push(macro("R", n === 0 ? [] : i()), packet("R", cstr(`<${r}>`))));
  parts.push(macro("T", i()));
  for (const [name, value] of m.headers) parts.push(macro("L", i()), packet("L", cstr(name), cstr(value)));
  parts.push(macro("N", i()), packet("N"));
  for (const c of m.bodyChunks) parts.push(macro("B", i()), packet("B", typeof c === "string" ? bytes(c) : c));
  parts.push(macro("E", i()), packet("E"));
  return Buffer.concat(parts);
}

/** Connection start as Postfix sends it: OPTNEG, then (after the reply) connect and HELO macros. */
export function postfixConnect(): Buffer {
  return Buffer.concat([
    macro("C", [
      ["j", "mx.hookd.test"],
      ["{daemon_name}", "mx.hookd.test"],
      ["v", "Postfix 3.7.11"],
    ]),
    macro("H"),
  ]);
}
