// What a message handler may ask the milter to change, validated at the boundary, and the
// end-of-message packets that carry it out (pure).
import { z } from "zod";
import { Action } from "./protocol.ts";
import type { Negotiated } from "./negotiate.ts";
import {
  addHeaderPacket,
  changeFromPacket,
  changeHeaderPacket,
  deleteHeaderPacket,
  insertHeaderPacket,
  replaceBodyPackets,
} from "./replies.ts";

// RFC 5322 field name: printable ASCII except ':' (and so without spaces).
const headerName = z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, "a header name is printable ASCII without spaces or ':'");
// A value may be folded ("\r\n" or "\n" followed by a space or tab); any other line break
// would start a header of its own, and a NUL would end the value early on the wire.
const headerValue = z
  .string()
  .refine((v) => !v.includes("\0"), "a header value must not contain NUL")
  .refine((v) => !/\r(?!\n)|\n(?![ \t])/.test(v), "a line break in a header value must be a fold (followed by a space or tab)");
const index1 = z.number().int().min(1).max(0xffffffff);

export const HeaderEditSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("add"), name: headerName, value: headerValue }).strict(),
  /** index 0 puts the header before the first header the milter saw. */
  z.object({ op: z.literal("insert"), index: z.number().int().min(0).max(0xffffffff), name: headerName, value: headerValue }).strict(),
  /** The index-th (1-based) header of that name, counted among the headers the milter saw. */
  z
    .object({ op: z.literal("change"), name: headerName, index: index1, value: headerValue.min(1, "use op delete to remove a header") })
    .strict(),
  z.object({ op: z.literal("delete"), name: headerName, index: index1 }).strict(),
]);

export const MilterEditsSchema = z
  .object({
    headers: z.array(HeaderEditSchema).default([]),
    /** The new body (everything after the blank line), CRLF line ends. */
    body: z.instanceof(Uint8Array).optional(),
    /** New envelope sender, without angle brackets (e.g. VERP's bounces+token@domain). */
    mailFrom: z
      .string()
      .min(1)
      .max(998)
      .regex(/^[^\s<>\0]+$/, "an envelope sender address has no spaces, angle brackets or NUL")
      .optional(),
  })
  .strict();

export type HeaderEdit = z.infer<typeof HeaderEditSchema>;
/** What a handler returns (headers may be left out). */
export type MilterEdits = z.input<typeof MilterEditsSchema>;

/** A handler's edits that cannot be carried out; the message then goes through unchanged. */
export class MilterEditsError extends Error {
  override name = "MilterEditsError";
}

/** Header values as sent: folds with "\n" alone (as MTAs send and read them), and a leading
 *  space when HDR_LEADSPC is on, so the header reads "Name: value" either way. */
function wireValue(value: string, leadingSpace: boolean): string {
  const v = value.replace(/\r\n/g, "\n");
  return leadingSpace ? ` ${v}` : v;
}

/**
 * The packets for a handler's edits, in an order that keeps indexes meaningful: changes,
 * then deletes from the highest index down (a delete never shifts an index still to be
 * used), then adds and inserts as given, the envelope sender, and last the whole body in
 * one run of REPLBODY packets of at most the negotiated size. Throws MilterEditsError when
 * the edits are invalid or need an action the MTA did not grant.
 */
export function editPackets(edits: MilterEdits, n: Pick<Negotiated, "actions" | "dataSize" | "leadingSpace">): Buffer[] {
  const parsed = MilterEditsSchema.safeParse(edits);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MilterEditsError(`invalid edits at ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const e = parsed.data;
  const need = (action: number, name: string, what: string) => {
    if ((n.actions & action) === 0) throw new MilterEditsError(`${what} needs ${name}, which the MTA did not grant`);
  };
  const seen = new Set<string>();
  for (const h of e.headers) {
    if (h.op === "add" || h.op === "insert") need(Action.ADDHDRS, "SMFIF_ADDHDRS", `header ${h.op}`);
    else {
      need(Action.CHGHDRS, "SMFIF_CHGHDRS", `header ${h.op}`);
      const key = `${h.name.toLowerCase()}#${h.index}`;
      if (seen.has(key)) throw new MilterEditsError(`header ${h.name} #${h.index} is changed or deleted twice`);
      seen.add(key);
    }
  }
  if (e.mailFrom !== undefined) need(Action.CHGFROM, "SMFIF_CHGFROM", "envelope sender change");
  if (e.body !== undefined) need(Action.CHGBODY, "SMFIF_CHGBODY", "body replacement");

  const out: Buffer[] = [];
  for (const h of e.headers) if (h.op === "change") out.push(changeHeaderPacket(h.index, h.name, wireValue(h.value, n.leadingSpace)));
  const deletes = e.headers.filter((h) => h.op === "delete").sort((a, b) => b.index - a.index);
  for (const h of deletes) out.push(deleteHeaderPacket(h.index, h.name));
  for (const h of e.headers) {
    if (h.op === "add") out.push(addHeaderPacket(h.name, wireValue(h.value, n.leadingSpace)));
    else if (h.op === "insert") out.push(insertHeaderPacket(h.index, h.name, wireValue(h.value, n.leadingSpace)));
  }
  if (e.mailFrom !== undefined) out.push(changeFromPacket(`<${e.mailFrom}>`));
  if (e.body !== undefined) out.push(...replaceBodyPackets(e.body, n.dataSize));
  return out;
}
