import { type Socket, connect } from "node:net";

// A minimal LMTP client (RFC 2033) for tests: what Postfix's lmtp(8) does, one command at a
// time, so each reply line can be asserted as the MTA would read it.

export class LmtpClient {
  private buffer = "";
  private waiting: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.buffer += d;
      this.waiting?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  /** `to`: a port on `host`, or the path of a unix socket. */
  static async connect(to: number | string, host = "127.0.0.1"): Promise<LmtpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = typeof to === "string" ? connect(to, () => resolve(s)) : connect(to, host, () => resolve(s));
      s.once("error", reject);
    });
    const c = new LmtpClient(socket);
    const greeting = await c.reply();
    if (!greeting[0]?.startsWith("220")) throw new Error(`unexpected greeting ${greeting.join("|")}`);
    const lhlo = await c.command("LHLO client.example");
    if (!lhlo.at(-1)?.startsWith("250 ")) throw new Error(`LHLO refused: ${lhlo.join("|")}`);
    return c;
  }

  /** One reply: its lines up to the one with a space after the code. */
  async reply(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const nl = this.buffer.indexOf("\r\n");
      if (nl === -1) {
        if (this.closed) throw new Error(`connection closed after ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => {
          this.waiting = resolve;
        });
        this.waiting = undefined;
        continue;
      }
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 2);
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) return lines;
    }
  }

  async command(line: string): Promise<string[]> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /**
   * One transaction. Returns the MAIL and RCPT replies and, when DATA was reached, one reply
   * per accepted recipient, as LMTP gives them.
   */
  async send(mailFrom: string, rcptTo: readonly string[], message: Uint8Array): Promise<{ mail: string; rcpt: string[]; data: string[] }> {
    const mail = (await this.command(`MAIL FROM:<${mailFrom}>`)).at(-1)!;
    const rcpt: string[] = [];
    for (const r of rcptTo) rcpt.push((await this.command(`RCPT TO:<${r}>`)).at(-1)!);
    const accepted = rcpt.filter((r) => r.startsWith("250")).length;
    if (!mail.startsWith("250") || accepted === 0) return { mail, rcpt, data: [] };
    const go = (await this.command("DATA")).at(-1)!;
    if (!go.startsWith("354")) return { mail, rcpt, data: [go] };
    // CRLF line ends and dot-stuffing, as an MTA sends a message.
    const text = Buffer.from(message).toString("latin1").replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    this.socket.write(text.endsWith("\r\n") ? text : `${text}\r\n`, "latin1");
    this.socket.write(".\r\n");
    const data: string[] = [];
    for (let i = 0; i < accepted; i++) data.push((await this.reply()).at(-1)!);
    return { mail, rcpt, data };
  }

  async quit(): Promise<void> {
    if (!this.closed) await this.command("QUIT").catch(() => undefined);
    this.socket.destroy();
  }
}
