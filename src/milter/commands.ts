// The data of each command the MTA sends, parsed (pure). Layouts, from libmilter's engine.c
// and Postfix's milter8.c:
//   O  uint32 version, uint32 actions, uint32 protocol flags
//   D  1 byte: the command the macros belong to, then name NUL value NUL, repeated
//   C  hostname NUL, 1 byte family ('U' unknown: nothing more; 'L' unix, '4', '6': uint16
//      port, address NUL)
//   H  helo name NUL
//   M, R  the address NUL, then each ESMTP argument NUL
//   L  header name NUL, header value NUL
//   B  raw body bytes; E the same (usually empty: the final chunk before end of message)
//   U  the unknown SMTP command NUL
//   T, N, A, Q, K  no data
import { Cmd, MTA_COMMANDS, MilterProtocolError, PacketReader, describe, type RawPacket } from "./protocol.ts";

export type MtaCommand =
  | { code: "O"; version: number; actions: number; protocol: number }
  | { code: "D"; stage: string; macros: [string, string][] }
  | { code: "C"; hostname: string; family: string; port: number | null; address: string | null }
  | { code: "H"; helo: string }
  | { code: "M" | "R"; args: string[] }
  | { code: "L"; name: Buffer; value: Buffer }
  | { code: "B" | "E"; chunk: Buffer }
  | { code: "U"; command: string }
  | { code: "T" | "N" | "A" | "Q" | "K" };

const NO_DATA = new Set<string>([Cmd.DATA, Cmd.EOH, Cmd.ABORT, Cmd.QUIT, Cmd.QUIT_NC]);

/** NUL-terminated strings filling `data` exactly; throws when the last one has no NUL. */
export function splitStrings(data: Buffer, what: string): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const nul = data.indexOf(0, start);
    if (nul < 0) throw new MilterProtocolError(`${what}: string at byte ${start} is not NUL-terminated`);
    out.push(data.subarray(start, nul));
    start = nul + 1;
  }
  return out;
}

function exactStrings(data: Buffer, count: number, what: string): Buffer[] {
  const strings = splitStrings(data, what);
  if (strings.length !== count) throw new MilterProtocolError(`${what}: expected ${count} NUL-terminated strings, got ${strings.length}`);
  return strings;
}

const utf8 = (b: Buffer) => b.toString("utf8");

/** Parses one packet from the MTA; throws MilterProtocolError naming what is wrong. */
export function parseCommand(p: RawPacket): MtaCommand {
  const { code, data } = p;
  const what = `command ${describe(code.charCodeAt(0))}`;
  switch (code) {
    case Cmd.OPTNEG:
      if (data.length < 12) throw new MilterProtocolError(`${what}: option negotiation needs 12 bytes, got ${data.length}`);
      return { code, version: data.readUInt32BE(0), actions: data.readUInt32BE(4), protocol: data.readUInt32BE(8) };
    case Cmd.MACRO: {
      if (data.length < 1) throw new MilterProtocolError(`${what}: macro packet without the command it belongs to`);
      const stage = String.fromCharCode(data[0]!);
      if (!MTA_COMMANDS.has(stage)) throw new MilterProtocolError(`${what}: macros for unknown command ${describe(data[0]!)}`);
      const strings = splitStrings(data.subarray(1), what);
      if (strings.length % 2 !== 0)
        throw new MilterProtocolError(`${what}: macro name ${JSON.stringify(utf8(strings.at(-1)!))} has no value`);
      const macros: [string, string][] = [];
      for (let i = 0; i < strings.length; i += 2) macros.push([utf8(strings[i]!), utf8(strings[i + 1]!)]);
      return { code, stage, macros };
    }
    case Cmd.CONNECT: {
      const nul = data.indexOf(0);
      if (nul < 0) throw new MilterProtocolError(`${what}: hostname is not NUL-terminated`);
      const hostname = utf8(data.subarray(0, nul));
      if (data.length < nul + 2) throw new MilterProtocolError(`${what}: address family missing`);
      const family = String.fromCharCode(data[nul + 1]!);
      if (family === "U") {
        if (data.length !== nul + 2) throw new MilterProtocolError(`${what}: unexpected data after family 'U'`);
        return { code, hostname, family, port: null, address: null };
      }
      if (!"L46".includes(family)) throw new MilterProtocolError(`${what}: unknown address family ${describe(data[nul + 1]!)}`);
      if (data.length < nul + 4) throw new MilterProtocolError(`${what}: port missing`);
      const port = data.readUInt16BE(nul + 2);
      const [address] = exactStrings(data.subarray(nul + 4), 1, `${what} address`);
      return { code, hostname, family, port, address: utf8(address!) };
    }
    case Cmd.HELO:
      return { code, helo: utf8(exactStrings(data, 1, what)[0]!) };
    case Cmd.MAIL:
    case Cmd.RCPT: {
      const args = splitStrings(data, what).map(utf8);
      if (args.length === 0) throw new MilterProtocolError(`${what}: no address`);
      return { code, args };
    }
    case Cmd.HEADER: {
      const [name, value] = exactStrings(data, 2, what);
      return { code, name: name!, value: value! };
    }
    case Cmd.BODY:
    case Cmd.BODYEOB:
      return { code, chunk: data };
    case Cmd.UNKNOWN:
      return { code, command: utf8(exactStrings(data, 1, what)[0]!) };
    default:
      if (NO_DATA.has(code)) {
        if (data.length > 0) throw new MilterProtocolError(`${what}: carries no data, got ${data.length} bytes`);
        return { code: code as "T" | "N" | "A" | "Q" | "K" };
      }
      throw new MilterProtocolError(`unknown ${what}`);
  }
}

/** Streaming decoder for what the MTA sends: packets at any chunk boundaries, each parsed.
 *  Never throws; the first malformed packet is returned as `error` and ends the stream. */
export class CommandDecoder {
  private readonly reader: PacketReader;
  private failed: MilterProtocolError | null = null;

  constructor(limit: number) {
    this.reader = new PacketReader(limit);
  }

  setLimit(limit: number): void {
    this.reader.setLimit(limit);
  }

  get bufferedBytes(): number {
    return this.reader.bufferedBytes;
  }

  push(chunk: Uint8Array): { commands: MtaCommand[]; error: MilterProtocolError | null } {
    const commands: MtaCommand[] = [];
    if (this.failed) return { commands, error: this.failed };
    const { packets, error } = this.reader.push(chunk);
    for (const p of packets) {
      try {
        commands.push(parseCommand(p));
      } catch (err) {
        this.failed = err instanceof MilterProtocolError ? err : new MilterProtocolError(String(err));
        return { commands, error: this.failed };
      }
    }
    if (error) this.failed = error;
    return { commands, error };
  }
}
