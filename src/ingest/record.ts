/**
 * One log line after its envelope (timestamp, host, syslog tag) has been taken apart; what the
 * MTA-specific parsers see. `program` is the last element of the syslog tag ("smtp" in
 * "postfix-out/smtp"), `instance` everything before it ("postfix-out"), "" when there is none.
 */
export interface LogRecord {
  /** Milliseconds since the epoch (UTC). */
  ts: number;
  /** Host name as written in the line; "" when the format has none (Exim's own main log). */
  host: string;
  program: string;
  instance: string;
  pid?: number;
  message: string;
}

export function splitProgram(tag: string): { program: string; instance: string } {
  const slash = tag.lastIndexOf("/");
  if (slash === -1) return { program: tag, instance: "" };
  return { program: tag.slice(slash + 1), instance: tag.slice(0, slash) };
}

/** Parses "name[pid]" or "name" (a syslog tag without its colon). */
export function splitTag(tag: string): { name: string; pid?: number } {
  const open = tag.indexOf("[");
  if (open === -1 || tag.charCodeAt(tag.length - 1) !== 93 /* ] */) return { name: tag };
  const pid = Number(tag.slice(open + 1, -1));
  return Number.isInteger(pid) ? { name: tag.slice(0, open), pid } : { name: tag.slice(0, open) };
}
