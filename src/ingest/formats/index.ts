import type { LogFormat } from "../../config/schema.ts";
import type { LogRecord } from "../record.ts";
import { isEximProgram, readEximLine, unwrapEximSyslog } from "./exim.ts";
import { readJournalLine } from "./jsonl.ts";
import { SyslogReader } from "./syslog.ts";

/**
 * Line envelope by configured format. "postfix" reads syslog lines (traditional or RFC 3339
 * timestamps, so also Postfix's maillog_file); "exim" reads Exim's main log and Exim via
 * syslog; "jsonl" reads journald exports; "auto" decides per line from its first characters.
 * Which MTA parser sees the message is decided later, by the program name.
 */
export class EnvelopeReader {
  private readonly syslog: SyslogReader;

  constructor(
    private readonly format: LogFormat,
    now: () => number,
  ) {
    this.syslog = new SyslogReader(now);
  }

  read(line: string): LogRecord | null {
    let rec: LogRecord | null;
    switch (this.format) {
      case "postfix":
        rec = this.syslog.read(line);
        break;
      case "exim":
        rec = looksLikeEximStamp(line) ? readEximLine(line) : this.syslog.read(line);
        break;
      case "jsonl":
        rec = readJournalLine(line);
        break;
      case "auto":
        rec =
          line.charCodeAt(0) === 123 /* { */
            ? readJournalLine(line)
            : looksLikeEximStamp(line)
              ? readEximLine(line)
              : this.syslog.read(line);
        break;
    }
    return rec && isEximProgram(rec.program) ? unwrapEximSyslog(rec) : rec;
  }
}

function looksLikeEximStamp(line: string): boolean {
  const c = line.charCodeAt(0);
  return c >= 48 && c <= 57 && line.charCodeAt(4) === 45 && line.charCodeAt(10) === 32;
}
