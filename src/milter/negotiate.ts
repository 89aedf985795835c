// Option negotiation (pure): from what the MTA offers in its OPTNEG, what hookd asks for.
//
// Asked for, each only when offered (Postfix refuses a reply that asks for an action it did
// not offer):
// - actions: ADDHDRS, CHGHDRS (change/delete), CHGBODY, CHGFROM (VERP) — nothing else;
//   SETSYMLIST to name the macros wanted.
// - stages left out: CONNECT, HELO, UNKNOWN, DATA (hookd needs the envelope, the headers
//   and the body only).
// - no reply to MAIL, RCPT, each header, EOH and body chunks: one round trip per message
//   (at end of message) instead of one per command. An oversized message is therefore
//   read to its end and accepted there unchanged.
// - HDR_LEADSPC: header values arrive exactly as written after the colon (Sendmail and
//   Postfix otherwise drop one space), so the header block can be rebuilt byte for byte.
// - the largest body chunk size offered (MDS_1M, MDS_256K; otherwise 65535). Postfix
//   offers neither and sends 65535-byte chunks.
// - macros: `i` (the queue id) at every message stage — MAIL, RCPT, DATA, EOH, end of
//   message — and nothing else there. Observed with Postfix 3.7: local submission
//   (non_smtpd_milters) has `i` from MAIL on; smtpd only from the second RCPT (its queue
//   file is created after the first recipient is accepted), and always at DATA (whose
//   macros come even though the DATA stage is left out), EOH, each header, each body chunk
//   and end of message. A list asked for replaces Postfix's milter_*_macros for that stage;
//   an empty list cannot be asked for (Postfix then falls back to main.cf's list).
import {
  Action,
  DataSize,
  MILTER_VERSION,
  MILTER_VERSION_MIN,
  MacroStage,
  MilterProtocolError,
  Proto,
  Cmd,
  type CmdCode,
} from "./protocol.ts";
import type { MacroLists } from "./replies.ts";

export type Offer = { version: number; actions: number; protocol: number };

export type Negotiated = {
  /** What goes back in the OPTNEG reply. */
  version: number;
  actions: number;
  protocol: number;
  macros: MacroLists;
  /** Largest packet data either side may send: body chunks, REPLBODY pieces. */
  dataSize: number;
  /** Header values keep the whitespace after the colon (HDR_LEADSPC). */
  leadingSpace: boolean;
  /** Commands the MTA expects no reply to. */
  noReply: ReadonlySet<CmdCode>;
};

export const WANTED_ACTIONS = Action.ADDHDRS | Action.CHGHDRS | Action.CHGBODY | Action.CHGFROM | Action.SETSYMLIST;

const SKIPPED_STAGES = Proto.NOCONNECT | Proto.NOHELO | Proto.NOUNKNOWN | Proto.NODATA;

/** Each no-reply flag and the command it silences. */
const NO_REPLY_FLAGS: [number, CmdCode][] = [
  [Proto.NR_CONN, Cmd.CONNECT],
  [Proto.NR_HELO, Cmd.HELO],
  [Proto.NR_MAIL, Cmd.MAIL],
  [Proto.NR_RCPT, Cmd.RCPT],
  [Proto.NR_DATA, Cmd.DATA],
  [Proto.NR_UNKN, Cmd.UNKNOWN],
  [Proto.NR_HDR, Cmd.HEADER],
  [Proto.NR_EOH, Cmd.EOH],
  [Proto.NR_BODY, Cmd.BODY],
];

const WANTED_NO_REPLY = Proto.NR_MAIL | Proto.NR_RCPT | Proto.NR_HDR | Proto.NR_EOH | Proto.NR_BODY;

export const WANTED_MACROS: MacroLists = {
  [MacroStage.ENVFROM]: ["i"],
  [MacroStage.ENVRCPT]: ["i"],
  [MacroStage.DATA]: ["i"],
  [MacroStage.EOM]: ["i"],
  [MacroStage.EOH]: ["i"],
};

export function negotiate(offer: Offer, macros: MacroLists = WANTED_MACROS): Negotiated {
  if (offer.version < MILTER_VERSION_MIN) {
    throw new MilterProtocolError(`MTA speaks milter protocol version ${offer.version}; at least ${MILTER_VERSION_MIN} is needed`);
  }
  const version = Math.min(offer.version, MILTER_VERSION);
  const actions = WANTED_ACTIONS & offer.actions;
  let protocol = (SKIPPED_STAGES | WANTED_NO_REPLY | Proto.HDR_LEADSPC) & offer.protocol;
  let dataSize: number = DataSize.DEFAULT;
  if (offer.protocol & Proto.MDS_1M) {
    protocol |= Proto.MDS_1M;
    dataSize = DataSize.MDS_1M;
  } else if (offer.protocol & Proto.MDS_256K) {
    protocol |= Proto.MDS_256K;
    dataSize = DataSize.MDS_256K;
  }
  const noReply = new Set<CmdCode>();
  for (const [flag, code] of NO_REPLY_FLAGS) if (protocol & flag) noReply.add(code);
  return {
    version,
    actions,
    protocol: protocol >>> 0,
    macros: actions & Action.SETSYMLIST ? macros : {},
    dataSize,
    leadingSpace: (protocol & Proto.HDR_LEADSPC) !== 0,
    noReply,
  };
}
