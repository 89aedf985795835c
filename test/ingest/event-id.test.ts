// event_id: deterministic from the event's identity, 26 URL-safe characters: the same bits as
// a plain base32 of the time in ms (50 bits) then of SHA-256's first 10 bytes (the encoder is
// table-driven for speed).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { EventId } from "../../src/events/schema.ts";
import { type EventIdentity, eventId } from "../../src/ingest/event-id.ts";
import { createLogParser } from "../../src/ingest/parse/index.ts";
import { NOW } from "./helpers/corpus.ts";

const B32 = "0123456789abcdefghjkmnpqrstvwxyz";
function reference(id: EventIdentity): string {
  const input = [id.type, id.host, id.scope, id.queueId ?? "", id.rcpt ?? "", id.timestamp, id.attempt ?? "", id.extra ?? ""].join("\x1f");
  const bytes = createHash("sha256").update(input).digest().subarray(0, 10);
  let bits = BigInt(Date.parse(id.timestamp)).toString(2).padStart(50, "0");
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  for (let i = 0; i < 130; i += 5) out += B32[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

const base: EventIdentity = {
  type: "delivery",
  host: "mx1",
  scope: "postfix",
  queueId: "4BCD21C03F2",
  rcpt: "a@example.org",
  timestamp: "2026-11-23T13:07:09.000Z",
  attempt: 2,
};

describe("eventId", () => {
  test("equals the reference encoding, for many inputs", () => {
    for (let i = 0; i < 500; i++) {
      const id = { ...base, queueId: `Q${i}`, attempt: i % 4, timestamp: new Date(Date.UTC(2026, 10, 23) + i * 7_777_777).toISOString() };
      expect(eventId(id)).toBe(reference(id));
    }
  });

  test("26 characters that EventId accepts; any identity field changes it", () => {
    const id = eventId(base);
    expect(id).toHaveLength(26);
    expect(EventId.safeParse(id).success).toBe(true);
    for (const change of [
      { type: "delay" },
      { host: "mx2" },
      { scope: "postfix-out" },
      { queueId: "X" },
      { rcpt: "b@example.org" },
      { timestamp: "2026-11-23T13:07:10.000Z" },
      { attempt: 3 },
      { extra: "1.2.3.4" },
    ]) {
      expect(eventId({ ...base, ...change })).not.toBe(id);
    }
  });

  test("ids sort by the event's time, whatever the rest of the identity", () => {
    const times = Array.from({ length: 200 }, (_, i) => new Date(Date.UTC(2026, 0, 1) + i * 1_234_567 + (i % 3)).toISOString());
    const ids = times.map((timestamp, i) => eventId({ ...base, timestamp, queueId: `Q${199 - i}` }));
    expect([...ids].sort()).toEqual(ids);
    expect(eventId({ ...base, timestamp: "not a time" })).toMatch(/^0{10}[0-9a-z]{16}$/);
  });

  test("re-reading a line after a restart (no state) gives its event the same id", () => {
    const line =
      "Nov 23 13:07:09 mx1 postfix/smtp[1]: 4BCD21C03F2: to=<a@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)";
    const a = createLogParser({ format: "postfix", now: () => NOW }).feed(line);
    const b = createLogParser({ format: "auto", now: () => NOW }).feed(line);
    expect(a.length).toBe(1);
    expect(b.map((e) => e.event_id)).toEqual(a.map((e) => e.event_id));
  });
});

describe("journald export end to end", () => {
  test("postfix and exim lines in journalctl -o json give the same events as in syslog", () => {
    const journal = (ident: string, pid: number, message: string | number[], usec: number) =>
      JSON.stringify({
        __REALTIME_TIMESTAMP: String(usec),
        _HOSTNAME: "mx1",
        SYSLOG_IDENTIFIER: ident,
        _PID: String(pid),
        MESSAGE: message,
      });
    const t = Date.UTC(2026, 10, 23, 12, 7, 9) * 1000;
    const lines = [
      journal("postfix/qmgr", 12, "4BCD21C03F2: from=<news@example.com>, size=2048, nrcpt=1 (queue active)", t),
      journal(
        "postfix/smtp",
        13,
        [
          ...new TextEncoder().encode(
            "4BCD21C03F2: to=<a@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
          ),
        ],
        t + 1_000_000,
      ),
      journal(
        "exim",
        7,
        '1tABCD-000000005vi-0000 => b@example.net R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.7] C="250 OK"',
        t + 2_000_000,
      ),
    ];
    const events = createLogParser({ format: "jsonl", now: () => NOW }).feed(lines[0] ?? "");
    const p = createLogParser({ format: "jsonl", now: () => NOW });
    const all = lines.flatMap((l) => p.feed(l));
    expect(events).toEqual([]);
    expect(all.map((e) => `${e.type} ${e.rcpt_to} ${e.timestamp}`)).toEqual([
      "injection a@example.org 2026-11-23T12:07:09.000Z",
      "delivery a@example.org 2026-11-23T12:07:10.000Z",
      "delivery b@example.net 2026-11-23T12:07:11.000Z",
    ]);
    expect(all[1]).toMatchObject({ host: "mx1", mail_from: "news@example.com", size: 2048 });
  });
});
