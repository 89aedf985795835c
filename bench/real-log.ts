// A big log of real MTA lines: a log captured from a real Postfix (test/fixtures/postfix-e2e.log,
// our e2e harness's own output) repeated as often as asked, each copy with its own queue ids,
// Message-IDs, addresses and pids, and later times, so every copy is new mail to a parser and
// correlation works as on the original. The line shapes and their proportions are the real
// log's; only the identities are fresh. Deterministic: the same source gives the same log.
import { isQueueId } from "../src/ingest/parse/postfix-queue-id.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "Mmm dd hh:mm:ss host prog[pid]: message" (RFC 3164, as Postfix's maillog_file and rsyslog write it).
const LINE = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([^\s[]+)\[(\d+)\]: (.*)$/;
// Where a Postfix queue id appears: heading a queue line, or named as the next queue file.
const QID_AT = /^([0-9A-Za-z]{5,32}): |(?:queued as|forwarded as|notification:) ([0-9A-Za-z]{5,32})\b/g;
const MESSAGE_ID = /message-id=<([^>]*)>/;
const ADDRESS = /<([^<>@\s]+)@([^<>\s]+)>/g;

type Parsed = { t: number; prog: string; pid: number; host: string; message: string };

function parse(line: string, year: number): Parsed | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const [, mon, day, hh, mm, ss, host, prog, pid, message] = m as unknown as string[];
  const t = Date.UTC(year, MONTHS.indexOf(mon!), Number(day), Number(hh), Number(mm), Number(ss));
  return { t, prog: prog!, pid: Number(pid), host: host!, message: message! };
}

function stamp(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export type RealLogOptions = {
  /** Log time of the first line out (ms since the epoch, UTC). */
  startMs?: number;
  /** Year the source's timestamps are read in (they carry none). */
  year?: number;
  /** First fresh queue id, as a number printed in upper-case hex. */
  queueIdStart?: number;
};

/**
 * The source's lines over and over, copy k with fresh identities, until `n` lines are out.
 * Lines that are not syslog lines (none in a real maillog) are copied unchanged.
 */
export function* multiplyLog(source: readonly string[], n: number, opts: RealLogOptions = {}): Generator<string> {
  const year = opts.year ?? 2026;
  const parsed = source.map((l) => parse(l, year));
  const times = parsed.filter((p): p is Parsed => p !== null).map((p) => p.t);
  if (times.length === 0) throw new Error("multiplyLog: no syslog lines in the source log");
  const first = Math.min(...times);
  const start = opts.startMs ?? Date.UTC(year, 10, 23);
  // Only ids the source uses as queue ids are rewritten: "queued as SINK1" from a next hop and
  // "NOQUEUE" stay.
  const own = new Set(
    source.map((l) => /^\S+ +\S+ \S+ \S+ \S+\[\d+\]: ([0-9A-Za-z]{5,32}): /.exec(l)?.[1]).filter((q) => q !== undefined && isQueueId(q)),
  );
  // Each copy starts one second after the previous one ended.
  const period = Math.max(...times) - first + 1000;
  let nextQid = opts.queueIdStart ?? 0x2a000000000;
  let out = 0;
  for (let k = 0; out < n; k++) {
    const qids = new Map<string, string>();
    const qid = (old: string) => {
      let fresh = qids.get(old);
      if (!fresh) {
        fresh = (nextQid++).toString(16).toUpperCase();
        qids.set(old, fresh);
      }
      return fresh;
    };
    const tag = k.toString(36);
    for (let i = 0; i < source.length && out < n; i++, out++) {
      const p = parsed[i];
      if (!p) {
        yield source[i]!;
        continue;
      }
      // Addresses get the copy's tag in their local part (consistently: the sender of copy k is
      // one address, the recipient of its notices too); Message-IDs get it as a prefix.
      let message = p.message.replace(QID_AT, (all, head: string | undefined, named: string | undefined) => {
        if (head !== undefined) return own.has(head) ? `${qid(head)}: ` : all;
        return own.has(named!) ? all.slice(0, all.length - named!.length) + qid(named!) : all;
      });
      const mid = MESSAGE_ID.exec(message);
      if (mid) message = message.replace(mid[0], `message-id=<${tag}.${mid[1]}>`);
      else message = message.replace(ADDRESS, (_a, local: string, domain: string) => `<${local}.${tag}@${domain}>`);
      const pid = 1000 + ((p.pid + k * 7919) % 30000);
      yield `${stamp(p.t - first + start + k * period)} ${p.host} ${p.prog}[${pid}]: ${message}`;
    }
  }
}

/** The multiplied log as text, from a source file; startMs: time of the first line. */
export async function realShapeLog(sourceFile: string, n: number, startMs = Date.UTC(2026, 10, 23)): Promise<string> {
  const source = (await Bun.file(sourceFile).text()).split("\n").filter((l) => l.length > 0);
  const lines: string[] = [];
  for (const l of multiplyLog(source, n, { startMs })) lines.push(l);
  return lines.join("\n") + "\n";
}
