// Encoders for every packet hookd's milter sends (pure). Layouts (libmilter's smfi_* in
// smfi.c and engine.c; Postfix's milter8.c reads them the same way):
//   O  uint32 version, uint32 actions, uint32 protocol flags, then for each macro list asked
//      for: uint32 stage (SMFIM_*), the macro names separated by spaces NUL
//   c a t r p s  no data
//   y  "ddd x.y.z text" NUL
//   h  name NUL value NUL            i, m  uint32 index, name NUL value NUL
//   b  raw body bytes                e  address NUL [ESMTP arguments NUL]
//   +, -  address NUL
import { Reply, frame } from "./protocol.ts";

export type MacroLists = Partial<Record<number, readonly string[]>>;

const enc = new TextEncoder();

/** A string or bytes, NUL-terminated; a NUL inside would end the string early on the wire. */
function cstr(s: string | Uint8Array, what: string): Buffer {
  const bytes = typeof s === "string" ? enc.encode(s) : s;
  if (bytes.includes(0)) throw new RangeError(`${what} contains a NUL byte`);
  const out = Buffer.allocUnsafe(bytes.length + 1);
  out.set(bytes, 0);
  out[bytes.length] = 0;
  return out;
}

function u32(n: number, what: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${what} must be a uint32, got ${n}`);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(n, 0);
  return out;
}

/** The reply to the MTA's OPTNEG, with the macro lists asked for (SMFIF_SETSYMLIST). */
export function optnegReply(o: { version: number; actions: number; protocol: number; macros?: MacroLists }): Buffer {
  const parts = [u32(o.version, "version"), u32(o.actions, "actions"), u32(o.protocol, "protocol flags")];
  for (const [stage, names] of Object.entries(o.macros ?? {})) {
    if (!names || names.length === 0) continue;
    for (const n of names) if (!n || /\s/.test(n)) throw new RangeError(`macro name ${JSON.stringify(n)} is empty or has a space`);
    parts.push(u32(Number(stage), "macro stage"), cstr(names.join(" "), "macro list"));
  }
  return frame("O", ...parts);
}

export const continuePacket = (): Buffer => frame(Reply.CONTINUE);
export const acceptPacket = (): Buffer => frame(Reply.ACCEPT);
export const tempfailPacket = (): Buffer => frame(Reply.TEMPFAIL);
export const rejectPacket = (): Buffer => frame(Reply.REJECT);
export const progressPacket = (): Buffer => frame(Reply.PROGRESS);
export const skipPacket = (): Buffer => frame(Reply.SKIP);

/** A full SMTP reply ("550 5.7.1 text"); Postfix, like Sendmail, wants 4xx or 5xx. */
export function replyCodePacket(reply: string): Buffer {
  if (!/^[45]\d\d[ -]/.test(reply)) throw new RangeError(`reply ${JSON.stringify(reply)} does not start with a 4xx or 5xx code`);
  return frame(Reply.REPLYCODE, cstr(reply, "reply"));
}

/** Appends a header. The value goes as given: with HDR_LEADSPC negotiated the MTA puts it
 *  right after the colon, without it the MTA adds one space first. */
export function addHeaderPacket(name: string, value: string | Uint8Array): Buffer {
  return frame(Reply.ADDHEADER, cstr(name, "header name"), cstr(value, "header value"));
}

/** Inserts a header at `index` (0: before the first header the milter saw). */
export function insertHeaderPacket(index: number, name: string, value: string | Uint8Array): Buffer {
  return frame(Reply.INSHEADER, u32(index, "header index"), cstr(name, "header name"), cstr(value, "header value"));
}

/** Changes the index-th (1-based) header called `name`; an empty value deletes it. */
export function changeHeaderPacket(index: number, name: string, value: string | Uint8Array): Buffer {
  return frame(Reply.CHGHEADER, u32(index, "header index"), cstr(name, "header name"), cstr(value, "header value"));
}

export function deleteHeaderPacket(index: number, name: string): Buffer {
  return changeHeaderPacket(index, name, "");
}

/** One piece of a replacement body; send every piece in one run (Postfix ends the
 *  replacement at the first other packet). */
export function replaceBodyPacket(chunk: Uint8Array): Buffer {
  return frame(Reply.REPLBODY, chunk);
}

/** A replacement body cut into REPLBODY packets of at most `maxChunk` bytes each. An empty
 *  body is one empty REPLBODY (it still replaces the body). */
export function replaceBodyPackets(body: Uint8Array, maxChunk: number): Buffer[] {
  if (!Number.isInteger(maxChunk) || maxChunk < 1) throw new RangeError(`body chunk size must be a positive integer, got ${maxChunk}`);
  if (body.length === 0) return [replaceBodyPacket(body)];
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += maxChunk) out.push(replaceBodyPacket(body.subarray(at, at + maxChunk)));
  return out;
}

/** Changes the envelope sender; ESMTP arguments are optional (Postfix ignores them). */
export function changeFromPacket(address: string, esmtpArgs?: string): Buffer {
  const parts = [cstr(address, "sender address")];
  if (esmtpArgs) parts.push(cstr(esmtpArgs, "ESMTP arguments"));
  return frame(Reply.CHGFROM, ...parts);
}

export function addRcptPacket(address: string): Buffer {
  return frame(Reply.ADDRCPT, cstr(address, "recipient address"));
}

export function delRcptPacket(address: string): Buffer {
  return frame(Reply.DELRCPT, cstr(address, "recipient address"));
}
