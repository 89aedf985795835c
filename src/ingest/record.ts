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

// A log has a handful of distinct tags; splitting each line's anew is measurable at 1M lines.
const programs = new Map<string, { program: string; instance: string }>();

export function programOf(tag: string): { program: string; instance: string } {
  let p = programs.get(tag);
  if (!p) {
    p = splitProgram(tag);
    if (programs.size < 1024) programs.set(tag, p);
  }
  return p;
}

/**
 * Postfix queues belong to an instance ("postfix-out"); "postfix/submission" is a service
 * of the "postfix" instance, logging under its own syslog_name but sharing its queue.
 */
let lastInstance = "";
let lastScope = "";

export function scopeOf(instance: string): string {
  if (instance === lastInstance) return lastScope;
  const slash = instance.indexOf("/");
  lastInstance = instance;
  lastScope = slash === -1 ? instance : instance.slice(0, slash);
  return lastScope;
}
