import { hostname } from "node:os";
import type { Event } from "../../events/schema.ts";
import { Correlator } from "../correlate.ts";
import { isEximProgram } from "../formats/exim.ts";
import type { LogFormat } from "../../config/schema.ts";
import { EnvelopeReader } from "../formats/index.ts";
import type { MtaLine } from "../mta-line.ts";
import { IGNORED } from "../mta-line.ts";
import type { LogRecord } from "../record.ts";
import type { Snapshot } from "../snapshot.ts";
import { parseExim } from "./exim.ts";
import { parsePostfix } from "./postfix.ts";

export type { LogFormat } from "../../config/schema.ts";
export type { Snapshot } from "../snapshot.ts";
export type { LogRecord } from "../record.ts";
export { parsePostfix } from "./postfix.ts";
export { isQueueId } from "./postfix-queue-id.ts";
export { parseExim } from "./exim.ts";

export interface LogParserOptions {
  format: LogFormat;
  /** Label put on events (the source's `host`); default: the host name in the line. */
  host?: string;
  /** Reference clock for syslog lines without a year; default Date.now. */
  now?: () => number;
  /** Correlation state from an earlier snapshot(): resume mid-message after a restart. */
  state?: Snapshot;
  /** Most queued messages remembered at once (least recently seen dropped first). */
  maxMessages?: number;
  /** Forget a message not mentioned for this long (log time). Default 6 days: Postfix keeps mail 5. */
  stateTtlMs?: number;
}

export interface ParserStats {
  lines: number;
  events: Record<string, number>;
  /** Understood, not an event: connects, TLS, warnings, removed, other programs' lines. */
  ignored: number;
  notUnderstood: number;
  /** The latest not-understood lines (at most 20, each cut to 300 characters). */
  recentNotUnderstood: string[];
}

export interface LogParser {
  /** The events one line completes. Never throws; a line it cannot read is counted. */
  feed(line: string): Event[];
  /**
   * The input ended or went quiet: the events held back in case a later line says they are a
   * notice (correlate.ts) go out now, without it. Also forgets messages idle for olderThanMs
   * of log time (default the TTL).
   */
  flush(olderThanMs?: number): Event[];
  /** Messages whose events are held back (see flush). */
  readonly held: number;
  /** Plain JSON of the correlation state, to persist with the read offset. */
  snapshot(): Snapshot;
  readonly stats: ParserStats;
}

const DEFAULT_TTL_MS = 6 * 86_400_000;
const DEFAULT_MAX_MESSAGES = 200_000;
const EXAMPLES = 20;
const SWEEP_EVERY = 4096;

// Postfix daemons, for syslog_name settings that do not start with "postfix" (e.g. "mx/smtpd").
const POSTFIX_SERVICES = new Set([
  "smtp",
  "smtpd",
  "lmtp",
  "qmgr",
  "cleanup",
  "local",
  "virtual",
  "pipe",
  "error",
  "discard",
  "bounce",
  "pickup",
  "postscreen",
  "anvil",
  "scache",
  "tlsmgr",
  "tlsproxy",
  "dnsblog",
  "verify",
  "trivial-rewrite",
  "postsuper",
  "postdrop",
  "sendmail",
  "master",
  "flush",
  "showq",
  "proxymap",
  "retry",
  "oqmgr",
  "postqueue",
]);

export function createLogParser(opts: LogParserOptions): LogParser {
  const now = opts.now ?? Date.now;
  const ttl = opts.stateTtlMs ?? DEFAULT_TTL_MS;
  const envelope = new EnvelopeReader(opts.format, now);
  const correlator = new Correlator({ maxMessages: opts.maxMessages ?? DEFAULT_MAX_MESSAGES, ttlMs: ttl }, opts.state);
  let fallbackHost: string | undefined;
  const stats: ParserStats = { lines: 0, events: {}, ignored: 0, notUnderstood: 0, recentNotUnderstood: [] };

  const notUnderstood = (line: string): Event[] => {
    stats.notUnderstood++;
    stats.recentNotUnderstood.push(line.length > 300 ? line.slice(0, 300) : line);
    if (stats.recentNotUnderstood.length > EXAMPLES) stats.recentNotUnderstood.shift();
    return [];
  };

  const counted = (events: Event[]): Event[] => {
    for (const e of events) stats.events[e.type] = (stats.events[e.type] ?? 0) + 1;
    return events;
  };

  const feed = (raw: string): Event[] => {
    stats.lines++;
    if (stats.lines % SWEEP_EVERY === 0) correlator.state.expire(ttl);
    const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "")) {
      stats.ignored++;
      return [];
    }
    try {
      const rec = envelope.read(line);
      if (!rec) return notUnderstood(line);
      const parsed = interpret(rec);
      if (parsed.kind === "unknown") return notUnderstood(line);
      if (parsed.kind === "ignored") {
        // Most lines: nothing to correlate, only the log's clock moves.
        correlator.observe(rec.ts);
        stats.ignored++;
        // The log's clock moved: events held for a notice line may be due.
        return correlator.holding === 0 ? [] : counted(correlator.due());
      }
      const host = opts.host ?? (rec.host || (fallbackHost ??= hostname()));
      const events = correlator.apply(rec, parsed, host);
      if (events.length === 0) stats.ignored++;
      return counted(events);
    } catch {
      // A parser bug must not stop ingest; the line shows up in the statistics instead.
      return notUnderstood(line);
    }
  };

  return {
    feed,
    flush(olderThanMs = ttl) {
      correlator.state.expire(olderThanMs);
      return counted(correlator.flush());
    },
    get held() {
      return correlator.holding;
    },
    snapshot: () => correlator.snapshot(),
    stats,
  };
}

/** Which MTA wrote the line decides the parser; other programs in a shared mail.log are ignored. */
export function interpret(rec: LogRecord): MtaLine {
  if (isEximProgram(rec.program)) return parseExim(rec.message);
  if (rec.instance.startsWith("postfix") || (rec.instance !== "" && POSTFIX_SERVICES.has(rec.program))) {
    return parsePostfix(rec.program, rec.message);
  }
  return IGNORED;
}
