// Fixture loading and an independent view of a message's parts for the mail tests: the
// parts come from mailsplit's Splitter directly and are decoded with libqp, Buffer's base64
// and iconv-lite — not with the code under test.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream";
import { Splitter, type MimeNode } from "@zone-eu/mailsplit";
import iconv from "iconv-lite";
import { decode as qpDecode } from "libqp";
import { applyHeaderEdits } from "../../src/mail/header-edits.ts";
import { splitMessage } from "../../src/mail/headers.ts";
import type { PartsOutcome } from "../../src/mail/parts.ts";

export const FIXTURES = join(import.meta.dir, "../fixtures/mail");

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".eml"))
    .sort();
}

export const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

/** Lone LF → CRLF, as Postfix hands a message to a milter. */
export const crlf = (raw: Buffer): Buffer => Buffer.from(raw.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");

export function split(raw: Buffer): { header: Buffer; body: Buffer } {
  const m = splitMessage(raw);
  if (!m) throw new Error("fixture has no header/body separator");
  return m;
}

export type Piece = { kind: "node"; node: MimeNode; header: Buffer; body: Buffer } | { kind: "data"; value: Buffer };

/** The message as mailsplit sees it: each part's header block and whole body, and the
 *  multipart data between parts. Attached messages stay leaves. */
export function pieces(raw: Buffer): Promise<Piece[]> {
  return new Promise((resolve, reject) => {
    const out: Piece[] = [];
    const bodies = new Map<MimeNode, Buffer[]>();
    const s = new Splitter({ ignoreEmbedded: true });
    s.on("data", (c) => {
      if (c.type === "node") {
        const node = c as MimeNode;
        bodies.set(node, []);
        out.push({ kind: "node", node, header: node.getHeaders(), body: Buffer.alloc(0) });
      } else if (c.type === "body") bodies.get(c.node as MimeNode)!.push(c.value as Buffer);
      else out.push({ kind: "data", value: c.value as Buffer });
    });
    finished(s, (err) => {
      if (err) return reject(err);
      for (const p of out) if (p.kind === "node") p.body = Buffer.concat(bodies.get(p.node)!);
      resolve(out);
    });
    s.end(raw);
  });
}

/** A part's text: transfer decoding, then its charset (latin1 when none or ASCII). */
export function decodedText(node: MimeNode, body: Buffer): string {
  const enc = (node.encoding || "7bit").toLowerCase();
  const bytes = enc === "base64" ? Buffer.from(body.toString("latin1"), "base64") : enc === "quoted-printable" ? qpDecode(body) : body;
  const cs = (node.charset || "latin1").toLowerCase();
  return iconv.decode(bytes, cs === "us-ascii" ? "latin1" : cs);
}

/** The whole message after the milter carried out `outcome`. */
export function applied(raw: Buffer, outcome: PartsOutcome): Buffer {
  if (!outcome.changed) return raw;
  const { header } = split(raw);
  return Buffer.concat([applyHeaderEdits(header, outcome.headers), outcome.body]);
}

/** Lengths of the lines of `b`, line ends not counted. */
export const lineLengths = (b: Buffer): number[] =>
  b
    .toString("latin1")
    .split(/\r?\n/)
    .map((l) => Buffer.byteLength(l, "latin1"));
