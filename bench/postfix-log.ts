// A realistic generated Postfix log (deterministic): connects, TLS, NOQUEUE rejects,
// cleanup, qmgr, deliveries, deferrals, bounces with their notices, removed, anvil noise.
// Shared by the parse benchmarks.

/** Deterministic xorshift, so every run parses the same log. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export type GenerateOptions = {
  /** xorshift seed (42: the parse benchmarks' log). */
  seed?: number;
  /** First queue id (as a number; printed in upper-case hex). Distinct ranges give distinct events. */
  queueIdStart?: number;
  /** Log time of the first line (ms since the epoch, UTC). */
  startMs?: number;
};

/** The first `n` lines of the log. */
export function generate(n: number, opts: GenerateOptions = {}): string[] {
  const out: string[] = [];
  if (n <= 0) return out;
  for (const line of postfixLines(opts)) {
    out.push(line);
    if (out.length >= n) break;
  }
  return out;
}

/** The same log as an endless stream, for writers that append for a given time. */
export function* postfixLines(opts: GenerateOptions = {}): Generator<string, never> {
  const rand = rng(opts.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const domains = ["example.org", "example.net", "mail.example.com", "gmail.example", "corp.example"] as const;
  let t = opts.startMs ?? Date.UTC(2026, 10, 23, 0, 0, 0);
  let q = opts.queueIdStart ?? 0x4bcd21c03f2;
  const stamp = () => {
    t += Math.floor(rand() * 40);
    const d = new Date(t);
    const p = (x: number) => String(x).padStart(2, "0");
    return `Nov ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} mx1`;
  };
  for (;;) {
    const out: string[] = [];
    const qid = (q++).toString(16).toUpperCase();
    const ip = `192.0.2.${Math.floor(rand() * 250) + 1}`;
    const pid = 1000 + Math.floor(rand() * 9000);
    const roll = rand();
    out.push(`${stamp()} postfix/smtpd[${pid}]: connect from client${pid}.example[${ip}]`);
    if (roll < 0.12) {
      out.push(
        `${stamp()} postfix/smtpd[${pid}]: NOQUEUE: reject: RCPT from client${pid}.example[${ip}]: 554 5.7.1 Service unavailable; Client host [${ip}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/${ip}; from=<spam${pid}@bad.example> to=<user${pid}@example.com> proto=ESMTP helo=<client${pid}.example>`,
      );
      out.push(`${stamp()} postfix/smtpd[${pid}]: disconnect from client${pid}.example[${ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`);
      yield* out;
      continue;
    }
    out.push(
      `${stamp()} postfix/smtpd[${pid}]: Anonymous TLS connection established from client${pid}.example[${ip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256`,
    );
    out.push(`${stamp()} postfix/smtpd[${pid}]: ${qid}: client=client${pid}.example[${ip}], sasl_method=PLAIN, sasl_username=app${pid}`);
    out.push(`${stamp()} postfix/cleanup[${pid + 1}]: ${qid}: message-id=<${t}.${qid}@example.com>`);
    const nrcpt = 1 + Math.floor(rand() * 3);
    out.push(
      `${stamp()} postfix/qmgr[999]: ${qid}: from=<news${pid}@example.com>, size=${2000 + Math.floor(rand() * 50000)}, nrcpt=${nrcpt} (queue active)`,
    );
    out.push(
      `${stamp()} postfix/smtpd[${pid}]: disconnect from client${pid}.example[${ip}] ehlo=2 starttls=1 auth=1 mail=1 rcpt=${nrcpt} data=1 quit=1 commands=${7 + nrcpt}`,
    );
    // Postfix lists an address once per message: a repeat would be a second "sent" line for
    // one recipient, which hookd counts once and pflogsumm twice.
    const rcpts = new Set<string>();
    for (let r = 0; r < nrcpt; r++) {
      let rcpt = `user${Math.floor(rand() * 100000)}@${pick(domains)}`;
      while (rcpts.has(rcpt)) rcpt = `user${Math.floor(rand() * 100000)}@${pick(domains)}`;
      rcpts.add(rcpt);
      const mx = `mx${r}.${rcpt.slice(rcpt.indexOf("@") + 1)}`;
      const spid = 2000 + Math.floor(rand() * 9000);
      out.push(
        `${stamp()} postfix/smtp[${spid}]: Verified TLS connection established to ${mx}[203.0.113.${r + 5}]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`,
      );
      const outcome = rand();
      if (outcome < 0.1) {
        out.push(
          `${stamp()} postfix/smtp[${spid}]: ${qid}: to=<${rcpt}>, relay=${mx}[203.0.113.${r + 5}]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.1, status=deferred (host ${mx}[203.0.113.${r + 5}] said: 450 4.7.1 <${rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.example/help (in reply to RCPT TO command))`,
        );
        out.push(`${stamp()} postfix/qmgr[999]: ${qid}: from=<news${pid}@example.com>, size=4000, nrcpt=${nrcpt} (queue active)`);
      }
      if (outcome < 0.06) {
        out.push(
          `${stamp()} postfix/smtp[${spid}]: ${qid}: to=<${rcpt}>, relay=${mx}[203.0.113.${r + 5}]:25, delay=3.4, delays=0.1/0/0.5/2.8, dsn=5.1.1, status=bounced (host ${mx}[203.0.113.${r + 5}] said: 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))`,
        );
        out.push(`${stamp()} postfix/bounce[${spid + 1}]: ${qid}: sender non-delivery notification: ${(q++).toString(16).toUpperCase()}`);
      } else {
        out.push(
          `${stamp()} postfix/smtp[${spid}]: ${qid}: to=<${rcpt}>, relay=${mx}[203.0.113.${r + 5}]:25, delay=0.9, delays=0.1/0.01/0.3/0.49, dsn=2.0.0, status=sent (250 2.0.0 OK 1732362429 ${qid.toLowerCase()} - gsmtp)`,
        );
      }
    }
    out.push(`${stamp()} postfix/qmgr[999]: ${qid}: removed`);
    if (roll > 0.97) out.push(`${stamp()} postfix/anvil[77]: statistics: max connection rate 3/60s for (smtp:${ip}) at Nov 23 13:07:09`);
    yield* out;
  }
}
