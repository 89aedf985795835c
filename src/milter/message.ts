// One message as the MTA shows it to the milter: envelope, headers, body, collected within a
// byte budget, and handed to the message handler whole.

export type MilterHeader = {
  name: string;
  /** As received: with HDR_LEADSPC (Postfix offers it) exactly the text after the colon,
   *  leading space included; folded lines are joined with "\n" as MTAs send them. */
  value: string;
};

export type MilterMessage = {
  /** The MTA's queue id (macro `i`), as in its log lines; null if the MTA never sent it. */
  queueId: string | null;
  /** Envelope sender without angle brackets; "" for the null sender. */
  mailFrom: string;
  /** ESMTP arguments of MAIL FROM (e.g. "SIZE=1234"). */
  mailArgs: string[];
  /** Envelope recipients without angle brackets, as the MTA showed them to the milter. */
  rcptTo: string[];
  /** Every header the milter saw, in order (Postfix hides its own Received: header). */
  headers: MilterHeader[];
  /** The same headers as bytes, "Name:value\r\n" each, then the empty line: with the body,
   *  the message as it will be queued (minus the MTA's own Received: header). */
  header: Buffer;
  /** The body as received (CRLF line ends). */
  body: Buffer;
  /** Macros the MTA sent for this connection and message; later stages win. */
  macros: Record<string, string>;
};

/** Costs charged per header or recipient on top of its bytes (the objects holding them). */
const ENTRY_OVERHEAD = 64;

export class MessageTooLargeError extends Error {
  override name = "MessageTooLargeError";
  constructor(readonly limit: number) {
    super(`message over the milter's limit of ${limit} bytes: accepted unchanged`);
  }
}

/** Rebuilds the header block byte for byte (exact with HDR_LEADSPC; without it the MTA ate
 *  one space after each colon, so one space is put back). */
export function headerBlock(headers: readonly { name: Buffer; value: Buffer }[], leadingSpace: boolean): Buffer {
  const parts: Buffer[] = [];
  const colon = Buffer.from(leadingSpace ? ":" : ": ");
  const crlf = Buffer.from("\r\n");
  for (const h of headers) parts.push(h.name, colon, lfToCrlf(h.value), crlf);
  parts.push(crlf);
  return Buffer.concat(parts);
}

/** Lone "\n" (how MTAs join the lines of a folded header) → "\r\n"; "\r\n" stays. */
function lfToCrlf(b: Buffer): Buffer {
  if (!b.includes(0x0a)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(b[i]!);
  }
  return Buffer.from(out);
}

const unbracket = (addr: string) => (addr.startsWith("<") && addr.endsWith(">") ? addr.slice(1, -1) : addr);

/** Collects one message within `limit` bytes; past it, drops what it holds and only counts. */
export class MessageCollector {
  mailFrom = "";
  mailArgs: string[] = [];
  readonly rcptTo: string[] = [];
  private headers: { name: Buffer; value: Buffer }[] = [];
  private body: Buffer[] = [];
  private bytes = 0;
  private over = false;

  constructor(private readonly limit: number) {}

  get overLimit(): boolean {
    return this.over;
  }

  get size(): number {
    return this.bytes;
  }

  /** MAIL args: the address (Postfix's smtpd sends it in <>, its cleanup without), then ESMTP args. */
  mail(args: string[]): void {
    if (!this.charge(ENTRY_OVERHEAD + args.reduce((n, a) => n + a.length, 0))) return;
    this.mailFrom = unbracket(args[0] ?? "");
    this.mailArgs = args.slice(1);
  }

  rcpt(args: string[]): void {
    const addr = unbracket(args[0] ?? "");
    if (this.charge(ENTRY_OVERHEAD + addr.length)) this.rcptTo.push(addr);
  }

  header(name: Buffer, value: Buffer): void {
    // Copies: the packet's bytes may be a slice of a much larger socket read.
    if (this.charge(ENTRY_OVERHEAD + name.length + value.length)) this.headers.push({ name: Buffer.from(name), value: Buffer.from(value) });
  }

  bodyChunk(chunk: Buffer): void {
    if (chunk.length > 0 && this.charge(chunk.length)) this.body.push(chunk);
  }

  /** The message for the handler (never called once over the limit). */
  build(queueId: string | null, macros: Record<string, string>, leadingSpace: boolean): MilterMessage {
    return {
      queueId,
      mailFrom: this.mailFrom,
      mailArgs: [...this.mailArgs],
      rcptTo: [...this.rcptTo],
      headers: this.headers.map((h) => ({ name: h.name.toString("utf8"), value: h.value.toString("utf8") })),
      header: headerBlock(this.headers, leadingSpace),
      body: Buffer.concat(this.body),
      macros,
    };
  }

  private charge(n: number): boolean {
    this.bytes += n;
    if (this.over) return false;
    if (this.bytes > this.limit) {
      this.over = true;
      this.headers = [];
      this.body = [];
      this.rcptTo.length = 0;
      return false;
    }
    return true;
  }
}
