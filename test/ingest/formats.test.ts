// Envelope layer: each timestamp shape, the year roll-over, program instances, journald.
import { describe, expect, test } from "bun:test";
import { EnvelopeReader } from "../../src/ingest/formats/index.ts";
import { readEximStamp } from "../../src/ingest/formats/exim.ts";
import { readJournalLine } from "../../src/ingest/formats/jsonl.ts";
import { SyslogReader } from "../../src/ingest/formats/syslog.ts";
import { inferYear } from "../../src/ingest/formats/time.ts";
import { corpusLines, NOW } from "./helpers/corpus.ts";

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo, d, h, mi, s, ms).getTime();

describe("traditional syslog", () => {
  const reader = new SyslogReader(() => NOW);

  test("splits timestamp, host, program, instance, pid and message", () => {
    const rec = reader.read("Nov 23 13:07:09 mx1 postfix-out/smtp[123]: 4BCD21C03F2: to=<a@b.example>, status=sent (ok)");
    expect(rec).toEqual({
      ts: local(2026, 10, 23, 13, 7, 9),
      host: "mx1",
      program: "smtp",
      instance: "postfix-out",
      pid: 123,
      message: "4BCD21C03F2: to=<a@b.example>, status=sent (ok)",
    });
  });

  test("space-padded and single-digit days, fractional seconds, a tag without pid", () => {
    expect(reader.read("Apr  7 15:35:20 h postfix/virtual[1]: x")?.ts).toBe(local(2026, 3, 7, 15, 35, 20));
    expect(reader.read("Jan 3 11:44:49 h postfix/smtpd[1]: x")?.ts).toBe(local(2026, 0, 3, 11, 44, 49));
    expect(reader.read("Nov 23 13:07:09.250 h postfix/smtpd[1]: x")?.ts).toBe(local(2026, 10, 23, 13, 7, 9, 250));
    expect(reader.read("Nov 23 13:07:09 h postfix-script: starting")).toMatchObject({ program: "postfix-script", message: "starting" });
  });

  test("service and instance names: the program is the last element", () => {
    expect(reader.read("Nov 23 13:07:09 h postfix/submission/smtpd[1]: x")).toMatchObject({
      program: "smtpd",
      instance: "postfix/submission",
    });
    expect(reader.read("Nov 23 13:07:09 h postfix-mx/content-filter/smtp[1]: x")).toMatchObject({
      program: "smtp",
      instance: "postfix-mx/content-filter",
    });
    expect(reader.read("Nov 23 13:07:09 h exim[27789]: x")).toMatchObject({ program: "exim", instance: "", pid: 27789 });
  });

  test("a localised month (Greek, from postfix_exporter issue #76) and a host with '/'", () => {
    const greek = corpusLines("postfix-exporter.log").find((l) => l.startsWith("Απρ"));
    expect(reader.read(greek ?? "")).toMatchObject({ ts: local(2026, 3, 15, 12, 20, 28), host: "mx2", program: "smtpd" });
    const slash = corpusLines("issues-quoted.log").find((l) => l.includes("eugeni/eugeni"));
    expect(reader.read(slash ?? "")).toMatchObject({ host: "eugeni/eugeni", program: "smtp", instance: "postfix" });
  });

  test("garbage is null, not an exception", () => {
    for (const junk of [
      "",
      "hello",
      "Nov 99 13:07:09 h p: x",
      "Nov 23 25:07:09 h p: x",
      "postfix/smtpd[40128]: NOQUEUE: lost connection",
    ]) {
      expect(reader.read(junk)).toBeNull();
    }
  });
});

describe("year inference", () => {
  test("a December line read in January belongs to the year before", () => {
    const jan2 = local(2027, 0, 2, 10);
    expect(inferYear(11, 31, 23, 59, 59, 0, jan2)).toBe(2026);
    expect(inferYear(0, 2, 9, 0, 0, 0, jan2)).toBe(2027);
    const reader = new SyslogReader(() => jan2);
    expect(reader.read("Dec 31 23:59:59 h postfix/qmgr[1]: x")?.ts).toBe(local(2026, 11, 31, 23, 59, 59));
    expect(reader.read("Jan  2 09:00:00 h postfix/qmgr[1]: x")?.ts).toBe(local(2027, 0, 2, 9));
  });

  test("a backfilled file spanning the new year, read in March", () => {
    const reader = new SyslogReader(() => local(2027, 2, 10));
    expect(reader.read("Dec 30 08:00:00 h postfix/qmgr[1]: x")?.ts).toBe(local(2026, 11, 30, 8));
    expect(reader.read("Jan  5 08:00:00 h postfix/qmgr[1]: x")?.ts).toBe(local(2027, 0, 5, 8));
  });

  test("a line a day ahead of the clock (skew) stays in this year", () => {
    expect(inferYear(10, 25, 12, 0, 0, 0, NOW)).toBe(2026);
  });
});

describe("RFC 3339 (rsyslog, Postfix maillog_file)", () => {
  const reader = new SyslogReader(() => NOW);
  test("microseconds and a +01:00 offset", () => {
    const rec = reader.read("2026-11-23T13:07:09.123456+01:00 host postfix/smtp[123]: msg");
    expect(rec).toMatchObject({ ts: Date.UTC(2026, 10, 23, 12, 7, 9, 123), host: "host", program: "smtp", pid: 123, message: "msg" });
  });
  test("'+0000' without a colon (MailRoute article) and 'Z'", () => {
    expect(reader.read("2015-12-14T00:06:12+0000 h postfix-inbound/qmgr[986]: x")?.ts).toBe(Date.UTC(2015, 11, 14, 0, 6, 12));
    expect(reader.read("2026-11-23T13:07:09Z h postfix/qmgr[1]: x")?.ts).toBe(Date.UTC(2026, 10, 23, 13, 7, 9));
  });
  test("the corpus line from AWStats#200", () => {
    const line = corpusLines("issues-quoted.log").find((l) => l.startsWith("2021-03-13T"));
    expect(reader.read(line ?? "")).toMatchObject({ ts: Date.UTC(2021, 2, 13, 11, 4, 9, 755), host: "cx20-2", program: "pickup" });
  });
});

describe("Exim main log", () => {
  test("plain, +millisec, +pid, and a log_timezone offset", () => {
    expect(readEximStamp("2026-11-23 13:07:09 1tABCD-000000005vi-0000 <= a@b")).toEqual({
      ts: local(2026, 10, 23, 13, 7, 9),
      rest: "1tABCD-000000005vi-0000 <= a@b",
    });
    expect(readEximStamp("2026-11-23 13:07:09.123 [30056] x")).toEqual({ ts: local(2026, 10, 23, 13, 7, 9, 123), pid: 30056, rest: "x" });
    expect(readEximStamp("2026-11-23 13:07:09 +0100 x")).toEqual({ ts: Date.UTC(2026, 10, 23, 12, 7, 9), rest: "x" });
    expect(readEximStamp("2026-11-23 13:07:09.5 -0500 [7] x")).toEqual({ ts: Date.UTC(2026, 10, 23, 18, 7, 9, 500), pid: 7, rest: "x" });
  });

  test("Exim through syslog keeps its own, more precise, timestamp", () => {
    const reader = new EnvelopeReader("exim", () => NOW);
    const line = corpusLines("issues-quoted.log").find((l) => l.includes("exim[27789]")) ?? "";
    expect(reader.read(line)).toEqual({
      ts: local(2019, 4, 23, 10, 28, 30),
      host: "mx01",
      program: "exim",
      instance: "",
      pid: 27789,
      message: "1hTohn-0007EB-Nq Completed",
    });
    expect(reader.read("Nov 23 13:07:09 mx exim[5]: 1hTohn-0007EB-Nq Completed")).toMatchObject({
      ts: local(2026, 10, 23, 13, 7, 9),
      message: "1hTohn-0007EB-Nq Completed",
    });
  });
});

describe("journald JSON", () => {
  const base = { __REALTIME_TIMESTAMP: "1795439229123456", _HOSTNAME: "mx1", SYSLOG_IDENTIFIER: "postfix/smtp", _PID: "123" };
  test("fields, microseconds to milliseconds", () => {
    expect(readJournalLine(JSON.stringify({ ...base, MESSAGE: "hello" }))).toEqual({
      ts: 1795439229123,
      host: "mx1",
      program: "smtp",
      instance: "postfix",
      pid: 123,
      message: "hello",
    });
  });
  test("MESSAGE as an array of bytes (journald's form for non-UTF-8 / control characters)", () => {
    const bytes = [...new TextEncoder().encode("Grüße\u0001")];
    expect(readJournalLine(JSON.stringify({ ...base, MESSAGE: bytes }))?.message).toBe("Grüße\u0001");
  });
  test("not JSON, or no MESSAGE: null", () => {
    expect(readJournalLine("{nope")).toBeNull();
    expect(readJournalLine(JSON.stringify({ __REALTIME_TIMESTAMP: "1" }))).toBeNull();
    expect(readJournalLine("[1,2]")).toBeNull();
  });
});

describe("auto", () => {
  const reader = new EnvelopeReader("auto", () => NOW);
  test("detects the shape per line", () => {
    expect(reader.read("Nov 23 13:07:09 h postfix/smtp[1]: x")?.program).toBe("smtp");
    expect(reader.read("2026-11-23T13:07:09.1+01:00 h postfix/smtp[1]: x")?.program).toBe("smtp");
    expect(reader.read("2026-11-23 13:07:09 1tABCD-000000005vi-0000 Completed")?.program).toBe("exim");
    expect(reader.read(JSON.stringify({ __REALTIME_TIMESTAMP: "1", SYSLOG_IDENTIFIER: "exim", MESSAGE: "x" }))?.program).toBe("exim");
  });
  test("a fixed format refuses other shapes", () => {
    expect(new EnvelopeReader("postfix", () => NOW).read("2026-11-23 13:07:09 1tABCD-000000005vi-0000 Completed")).toBeNull();
    expect(new EnvelopeReader("jsonl", () => NOW).read("Nov 23 13:07:09 h postfix/smtp[1]: x")).toBeNull();
  });
});
