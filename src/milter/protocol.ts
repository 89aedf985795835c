// The Sendmail milter protocol's vocabulary (version 6) and its framing.
//
// Every value here is checked against libmilter's include/libmilter/mfdef.h (v8.40) and
// mfapi.h (v8.83), the protocol's only written definition, and against Postfix's own copy
// in src/milter/milter8.c. A packet on the wire, in either direction, is
//   uint32 length (big-endian, counts the command byte and the data) | 1 command byte | data
// Strings in the data are NUL-terminated; numbers are big-endian uint32 (uint16 for a port).

/** Protocol version hookd speaks (SMFI_PROT_VERSION). */
export const MILTER_VERSION = 6;
/** Oldest MTA protocol version libmilter accepts (SMFI_PROT_VERSION_MIN). */
export const MILTER_VERSION_MIN = 2;

/** Commands from the MTA (SMFIC_*). */
export const Cmd = {
  OPTNEG: "O",
  MACRO: "D",
  CONNECT: "C",
  HELO: "H",
  MAIL: "M",
  RCPT: "R",
  DATA: "T",
  HEADER: "L",
  EOH: "N",
  BODY: "B",
  BODYEOB: "E",
  ABORT: "A",
  QUIT: "Q",
  QUIT_NC: "K",
  UNKNOWN: "U",
} as const;
export type CmdCode = (typeof Cmd)[keyof typeof Cmd];
export const MTA_COMMANDS: ReadonlySet<string> = new Set(Object.values(Cmd));

/** Responses and end-of-message actions from the milter (SMFIR_*). The reply to OPTNEG is
 *  an OPTNEG packet ('O'); the macro lists it may carry are what SMFIF_SETSYMLIST allows. */
export const Reply = {
  CONTINUE: "c",
  ACCEPT: "a",
  TEMPFAIL: "t",
  REJECT: "r",
  REPLYCODE: "y",
  ADDHEADER: "h",
  INSHEADER: "i",
  CHGHEADER: "m",
  REPLBODY: "b",
  CHGFROM: "e",
  ADDRCPT: "+",
  DELRCPT: "-",
  PROGRESS: "p",
  SKIP: "s",
  SETSYMLIST: "l",
} as const;
export type ReplyCode = (typeof Reply)[keyof typeof Reply];

/** What the milter may do at end of message (SMFIF_*), offered by the MTA in OPTNEG. */
export const Action = {
  ADDHDRS: 0x01,
  CHGBODY: 0x02,
  ADDRCPT: 0x04,
  DELRCPT: 0x08,
  CHGHDRS: 0x10,
  QUARANTINE: 0x20,
  CHGFROM: 0x40,
  ADDRCPT_PAR: 0x80,
  SETSYMLIST: 0x100,
} as const;

/** Protocol flags (SMFIP_*): stages the MTA may leave out, replies the milter may leave out. */
export const Proto = {
  NOCONNECT: 0x1,
  NOHELO: 0x2,
  NOMAIL: 0x4,
  NORCPT: 0x8,
  NOBODY: 0x10,
  NOHDRS: 0x20,
  NOEOH: 0x40,
  NR_HDR: 0x80,
  NOUNKNOWN: 0x100,
  NODATA: 0x200,
  SKIP: 0x400,
  RCPT_REJ: 0x800,
  NR_CONN: 0x1000,
  NR_HELO: 0x2000,
  NR_MAIL: 0x4000,
  NR_RCPT: 0x8000,
  NR_DATA: 0x10000,
  NR_UNKN: 0x20000,
  NR_EOH: 0x40000,
  NR_BODY: 0x80000,
  HDR_LEADSPC: 0x100000,
  MDS_256K: 0x10000000,
  MDS_1M: 0x20000000,
} as const;

/** Macro stages (SMFIM_*), the indexes of the macro lists a milter may ask for. */
export const MacroStage = { CONNECT: 0, HELO: 1, ENVFROM: 2, ENVRCPT: 3, DATA: 4, EOM: 5, EOH: 6 } as const;

/** Largest data of one packet: the default (MILTER_MAX_DATA_SIZE, also the body chunk size
 *  MTAs use) and the two sizes SMFIP_MDS_256K / SMFIP_MDS_1M raise it to (MILTER_MDS_*). */
export const DataSize = { DEFAULT: 65535, MDS_256K: 256 * 1024 - 1, MDS_1M: 1024 * 1024 - 1 } as const;

/** A header may be larger than a body chunk: Postfix sends one header as one packet of up to
 *  header_size_limit (102400 bytes by default), so packets from the MTA are allowed this much
 *  even when the negotiated data size is 64 KiB. */
export const HEADER_ALLOWANCE = 128 * 1024;

/** Largest length field accepted from the MTA for a negotiated data size: the data, with
 *  room for a header, plus the command byte. */
export function packetLimit(dataSize: number): number {
  return Math.max(dataSize, HEADER_ALLOWANCE) + 1;
}

/** Something the peer sent that is not the protocol; the connection cannot continue. */
export class MilterProtocolError extends Error {
  override name = "MilterProtocolError";
}

/** One packet: length prefix, command byte, data. */
export function frame(code: string, ...parts: Uint8Array[]): Buffer {
  let dataLength = 0;
  for (const p of parts) dataLength += p.length;
  const out = Buffer.allocUnsafe(5 + dataLength);
  out.writeUInt32BE(1 + dataLength, 0);
  out[4] = code.charCodeAt(0);
  let at = 5;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type RawPacket = { code: string; data: Buffer };

/**
 * Cuts a byte stream into packets, whatever the chunk boundaries. A bad length or command
 * byte fails the decoder for good: the stream cannot be resynchronised after it.
 */
export class PacketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: MilterProtocolError | null = null;

  constructor(
    private limit: number,
    private readonly commands: ReadonlySet<string> = MTA_COMMANDS,
  ) {}

  /** The largest length field accepted from now on (raised after negotiation). */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): { packets: RawPacket[]; error: MilterProtocolError | null } {
    const packets: RawPacket[] = [];
    if (this.failed) return { packets, error: this.failed };
    if (chunk.length > 0) {
      // Kept, not copied: socket reads are fresh buffers that nobody writes to again.
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    while (this.buffered >= 5) {
      const head = this.peek(5);
      const length = head.readUInt32BE(0);
      const code = String.fromCharCode(head[4]!);
      if (length === 0) return this.fail(packets, "packet length 0 (a packet holds at least its command byte)");
      if (length > this.limit) {
        return this.fail(packets, `packet length ${length} over the limit of ${this.limit} bytes (command ${describe(head[4]!)})`);
      }
      if (!this.commands.has(code)) return this.fail(packets, `unknown command ${describe(head[4]!)}`);
      if (this.buffered < 4 + length) break;
      const whole = this.take(4 + length);
      packets.push({ code, data: whole.subarray(5) });
    }
    return { packets, error: null };
  }

  private fail(packets: RawPacket[], message: string) {
    this.failed = new MilterProtocolError(message);
    this.chunks = [];
    this.buffered = 0;
    return { packets, error: this.failed };
  }

  /** The first n buffered bytes (joined only when they span chunks). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    const out = this.peek(n);
    const first = this.chunks[0]!;
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** A command byte as a reader can see it: 'X' (0x58). */
export function describe(byte: number): string {
  const printable = byte >= 0x20 && byte < 0x7f;
  return `${printable ? `'${String.fromCharCode(byte)}' ` : ""}(0x${byte.toString(16).padStart(2, "0")})`;
}
