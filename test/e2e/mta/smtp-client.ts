// A minimal SMTP client for tests: one transaction over plain TCP to a loopback MTA, every
// reply recorded, so a test can see which recipients were rejected at RCPT time.

export type SmtpReply = { code: number; text: string };

export type SmtpSubmission = {
  host?: string;
  port: number;
  helo?: string;
  from: string;
  to: string[];
  /** Full message (headers + body), LF or CRLF line ends; dot-stuffed here. */
  message: string;
  timeoutMs?: number;
  /** Called after the RCPT replies, before DATA (a test can stop a milter there). */
  beforeData?: () => Promise<void>;
};

export type SmtpSubmitResult = {
  greeting: SmtpReply;
  mail: SmtpReply;
  rcpt: { rcpt: string; reply: SmtpReply }[];
  /** Reply to the final dot, or null when no recipient was accepted (DATA not sent). */
  data: SmtpReply | null;
  /** Recipients answered with 2xx. */
  accepted: string[];
  /** Recipients answered with 4xx/5xx. */
  rejected: string[];
};

/** Build an RFC 5322 message with the headers the harnesses and scenarios rely on. */
export function buildMessage(m: { from: string; to: string[]; subject: string; messageId: string; body?: string }): string {
  const lines = [
    `From: <${m.from}>`,
    `To: ${m.to.map((t) => `<${t}>`).join(", ")}`,
    `Subject: ${m.subject}`,
    `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: ${m.messageId}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    m.body ?? `hookd end-to-end test message: ${m.subject}`,
    "",
  ];
  return lines.join("\n");
}

export async function submitSmtp(sub: SmtpSubmission): Promise<SmtpSubmitResult> {
  const host = sub.host ?? "127.0.0.1";
  const timeoutMs = sub.timeoutMs ?? 10_000;
  let buf = "";
  let closed = false;
  let wake: (() => void) | null = null;
  let drained: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const socket = await Bun.connect({
    hostname: host,
    port: sub.port,
    socket: {
      data(_s, chunk) {
        buf += chunk.toString("latin1");
        poke();
      },
      drain() {
        const d = drained;
        drained = null;
        d?.();
      },
      close() {
        closed = true;
        poke();
      },
      error() {
        closed = true;
        poke();
      },
    },
  });

  const deadline = Date.now() + timeoutMs;
  // Read one (possibly multi-line) reply.
  const readReply = async (): Promise<SmtpReply> => {
    for (;;) {
      const lines = buf.split("\r\n");
      for (let i = 0; i < lines.length - 1; i++) {
        const line = lines[i] ?? "";
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) {
          const textLines = lines.slice(0, i + 1).map((l) => l.slice(4));
          buf = lines.slice(i + 1).join("\r\n");
          return { code: Number(line.slice(0, 3)), text: textLines.join("\n") };
        }
      }
      if (closed) throw new Error(`smtp client: connection to ${host}:${sub.port} closed while waiting for a reply`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`smtp client: no reply from ${host}:${sub.port} within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(left, 200));
      });
    }
  };
  // Bun's socket.write() takes what the kernel takes now and drops the rest: a large message
  // goes out piece by piece, each after the socket drained.
  const writeAll = async (text: string) => {
    let rest = Buffer.from(text);
    while (rest.length > 0) {
      const n = socket.write(rest);
      rest = rest.subarray(Math.max(0, n));
      if (rest.length === 0) break;
      if (closed) throw new Error(`smtp client: connection to ${host}:${sub.port} closed while sending`);
      await new Promise<void>((resolve) => {
        drained = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  const cmd = async (line: string): Promise<SmtpReply> => {
    await writeAll(line + "\r\n");
    return readReply();
  };

  try {
    const greeting = await readReply();
    if (greeting.code !== 220) throw new Error(`smtp client: greeting ${greeting.code} ${greeting.text}`);
    const ehlo = await cmd(`EHLO ${sub.helo ?? "client.hookd.test"}`);
    if (ehlo.code !== 250) throw new Error(`smtp client: EHLO ${ehlo.code} ${ehlo.text}`);
    const mail = await cmd(`MAIL FROM:<${sub.from}>`);
    if (mail.code !== 250) throw new Error(`smtp client: MAIL ${mail.code} ${mail.text}`);
    const rcpt: { rcpt: string; reply: SmtpReply }[] = [];
    for (const to of sub.to) rcpt.push({ rcpt: to, reply: await cmd(`RCPT TO:<${to}>`) });
    const accepted = rcpt.filter((r) => r.reply.code >= 200 && r.reply.code < 300).map((r) => r.rcpt);
    const rejected = rcpt.filter((r) => r.reply.code >= 400).map((r) => r.rcpt);
    let data: SmtpReply | null = null;
    if (accepted.length > 0) {
      await sub.beforeData?.();
      const go = await cmd("DATA");
      if (go.code !== 354) throw new Error(`smtp client: DATA ${go.code} ${go.text}`);
      const body = sub.message
        .replace(/\r?\n/g, "\r\n")
        .split("\r\n")
        .map((l) => (l.startsWith(".") ? "." + l : l))
        .join("\r\n");
      data = await cmd(`${body.endsWith("\r\n") ? body : body + "\r\n"}.`);
    } else {
      await cmd("RSET");
    }
    await cmd("QUIT").catch(() => undefined);
    return { greeting, mail, rcpt, data, accepted, rejected };
  } finally {
    socket.end();
  }
}
