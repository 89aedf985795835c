// A small SMTP server of our own on 127.0.0.1 that the real MTAs relay to. It answers each
// RCPT by the recipient's local part, so one sink gives every delivery outcome:
//   hard*           → 550 5.1.1 user unknown        (permanent: bounce)
//   soft*, expire*  → 451 4.2.0 try later            (temporary: deferral, then expiry)
//   anything else   → 250 2.1.5 ok                   (delivery; "ok*" by convention, and the
//                                                     MTAs' own bounce notices to the sender)
// It records every accepted message. No TLS, no AUTH, no PIPELINING advertised.
import type { Socket, TCPSocketListener } from "bun";

export type SinkMessage = {
  /** Envelope sender as given in MAIL FROM (without the angle brackets; "" for <>). */
  mailFrom: string;
  /** Recipients the sink accepted with 250. */
  rcptTo: string[];
  /** The message as sent after DATA (dot-unstuffed, CRLF line ends, without the final "."). */
  data: string;
  /** Header "Subject" / "Message-ID" values, when present. */
  subject: string | null;
  messageId: string | null;
  /** The id the sink gave in its 250 reply to the final dot. */
  sinkId: string;
  receivedAt: number;
};

export type SinkReply = { code: number; text: string };

export type SmtpSink = {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly messages: readonly SinkMessage[];
  /** Every RCPT the sink was given, with the reply it sent (accepted or not). */
  readonly rcptLog: readonly { rcpt: string; reply: SinkReply; at: number }[];
  /** Resolves with the messages once `predicate` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (messages: readonly SinkMessage[]) => boolean, timeoutMs?: number): Promise<readonly SinkMessage[]>;
  stop(): Promise<void>;
};

/** The reply the sink gives to RCPT TO:<addr>. Exported so scenarios can state it. */
export function replyForRecipient(addr: string): SinkReply {
  const local = (addr.split("@")[0] ?? "").toLowerCase();
  if (local.startsWith("hard")) return { code: 550, text: `5.1.1 <${addr}>: user unknown` };
  if (local.startsWith("soft") || local.startsWith("expire")) return { code: 451, text: `4.2.0 <${addr}>: try later` };
  return { code: 250, text: "2.1.5 ok" };
}

type Session = {
  buf: string;
  state: "cmd" | "data";
  mailFrom: string | null;
  rcpts: string[];
  dataLines: string[];
};

const HOSTNAME = "sink.test";

function angle(arg: string): string | null {
  const m = /^\s*<([^>]*)>/.exec(arg);
  if (m) return m[1] ?? "";
  const bare = arg.trim().split(/\s+/)[0];
  return bare ? bare : null;
}

function header(data: string, name: string): string | null {
  const head = data.split(/\r?\n\r?\n/)[0] ?? "";
  const re = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, "im");
  const m = re.exec(head);
  return m ? (m[1] ?? "").replace(/\r?\n[ \t]+/g, " ").trim() : null;
}

/** `maxSize`: the SIZE the sink advertises (MTAs refuse to send larger messages); default 10240000. */
export async function startSmtpSink(opts: { maxSize?: number } = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const rcptLog: { rcpt: string; reply: SinkReply; at: number }[] = [];
  const waiters = new Set<() => void>();
  let seq = 0;
  const notify = () => {
    for (const w of [...waiters]) w();
  };

  const send = (sock: Socket<Session>, line: string) => {
    sock.write(line + "\r\n");
  };

  const handleLine = (sock: Socket<Session>, line: string) => {
    const s = sock.data;
    if (s.state === "data") {
      if (line === ".") {
        const data = s.dataLines.join("\r\n") + "\r\n";
        const sinkId = `SINK${++seq}`;
        messages.push({
          mailFrom: s.mailFrom ?? "",
          rcptTo: [...s.rcpts],
          data,
          subject: header(data, "Subject"),
          messageId: header(data, "Message-ID"),
          sinkId,
          receivedAt: Date.now(),
        });
        s.state = "cmd";
        s.mailFrom = null;
        s.rcpts = [];
        s.dataLines = [];
        send(sock, `250 2.0.0 Ok: queued as ${sinkId}`);
        notify();
      } else {
        s.dataLines.push(line.startsWith(".") ? line.slice(1) : line);
      }
      return;
    }
    const m = /^([A-Za-z]+)(?:[ :](.*))?$/.exec(line);
    const verb = (m?.[1] ?? "").toUpperCase();
    const arg = m?.[2] ?? "";
    switch (verb) {
      case "EHLO":
        send(sock, `250-${HOSTNAME} hello ${arg.trim() || "there"}`);
        send(sock, "250-8BITMIME");
        send(sock, "250-ENHANCEDSTATUSCODES");
        send(sock, `250 SIZE ${opts.maxSize ?? 10240000}`);
        return;
      case "HELO":
        send(sock, `250 ${HOSTNAME}`);
        return;
      case "MAIL": {
        const mm = /^MAIL\s+FROM:\s*(.*)$/i.exec(line);
        const from = mm ? angle(mm[1] ?? "") : null;
        if (from === null) {
          send(sock, "501 5.5.4 Syntax: MAIL FROM:<address>");
          return;
        }
        if (s.mailFrom !== null) {
          send(sock, "503 5.5.1 Error: nested MAIL command");
          return;
        }
        s.mailFrom = from;
        s.rcpts = [];
        send(sock, "250 2.1.0 Ok");
        return;
      }
      case "RCPT": {
        if (s.mailFrom === null) {
          send(sock, "503 5.5.1 Error: need MAIL command");
          return;
        }
        const rm = /^RCPT\s+TO:\s*(.*)$/i.exec(line);
        const rcpt = rm ? angle(rm[1] ?? "") : null;
        if (!rcpt) {
          send(sock, "501 5.5.4 Syntax: RCPT TO:<address>");
          return;
        }
        const reply = replyForRecipient(rcpt);
        rcptLog.push({ rcpt, reply, at: Date.now() });
        if (reply.code === 250) s.rcpts.push(rcpt);
        send(sock, `${reply.code} ${reply.text}`);
        return;
      }
      case "DATA":
        if (s.mailFrom === null || s.rcpts.length === 0) {
          send(sock, "554 5.5.1 Error: no valid recipients");
          return;
        }
        s.state = "data";
        s.dataLines = [];
        send(sock, "354 End data with <CR><LF>.<CR><LF>");
        return;
      case "RSET":
        s.mailFrom = null;
        s.rcpts = [];
        s.dataLines = [];
        send(sock, "250 2.0.0 Ok");
        return;
      case "NOOP":
        send(sock, "250 2.0.0 Ok");
        return;
      case "QUIT":
        send(sock, "221 2.0.0 Bye");
        sock.end();
        return;
      default:
        send(sock, "502 5.5.2 Error: command not recognized");
    }
  };

  const listener: TCPSocketListener<Session> = Bun.listen<Session>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        sock.data = { buf: "", state: "cmd", mailFrom: null, rcpts: [], dataLines: [] };
        send(sock, `220 ${HOSTNAME} ESMTP hookd-test-sink`);
      },
      data(sock, chunk) {
        const s = sock.data;
        // Only the last, unfinished line is kept between reads: a 30 MB message costs one pass.
        const lines = (s.buf + chunk.toString("latin1")).split("\n");
        s.buf = lines.pop()!;
        for (const line of lines) handleLine(sock, line.endsWith("\r") ? line.slice(0, -1) : line);
      },
      error() {},
    },
  });

  return {
    host: "127.0.0.1",
    port: listener.port,
    messages,
    rcptLog,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(messages)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(messages);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`smtp sink: condition not met within ${timeoutMs}ms (${messages.length} messages)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      listener.stop(true);
    },
  };
}
