import { type LogRecord, splitProgram } from "../record.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * One object of `journalctl -o json`. journald writes MESSAGE as an array of bytes when it is
 * not valid UTF-8 (or holds control characters); numbers arrive as strings.
 */
export function readJournalLine(line: string): LogRecord | null {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return null;
  const o = obj as Record<string, unknown>;
  const message = text(o.MESSAGE);
  const micros = Number(o.__REALTIME_TIMESTAMP);
  if (message === undefined || !Number.isFinite(micros)) return null;
  const tag = text(o.SYSLOG_IDENTIFIER) ?? text(o._COMM) ?? "";
  const { program, instance } = splitProgram(tag);
  const rec: LogRecord = {
    ts: Math.floor(micros / 1000),
    host: text(o._HOSTNAME) ?? "",
    program,
    instance,
    message: message.endsWith("\n") ? message.slice(0, -1) : message,
  };
  const pid = Number(text(o._PID) ?? text(o.SYSLOG_PID));
  if (Number.isInteger(pid) && pid > 0) rec.pid = pid;
  return rec;
}

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  if (Array.isArray(v) && v.every((b) => typeof b === "number")) return utf8.decode(Uint8Array.from(v as number[]));
  return undefined;
}
