// The real-shape log (bench/real-log.ts): our e2e Postfix log repeated with fresh identities
// must be, to a parser, that many runs of the same mail: k copies give k times the events of
// one, no queue id or event id shared between copies, notices tied to their own copy's
// message, and the totals pflogsumm counts on the same file.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hookdTotals, PFLOGSUMM, runPflogsumm } from "../../bench/log-totals.ts";
import { multiplyLog } from "../../bench/real-log.ts";
import { E2E_LOG } from "../../bench/perf-parse.ts";
import type { Event } from "../../src/events/schema.ts";
import { requireFiles } from "../e2e/mta/common.ts";
import { run } from "./helpers/parse.ts";

const source = (await Bun.file(E2E_LOG).text()).split("\n").filter(Boolean);
const byType = (events: Event[]) => {
  const out: Record<string, number> = {};
  for (const e of events) out[e.type] = (out[e.type] ?? 0) + 1;
  return out;
};

describe("multiplyLog on the e2e Postfix log", () => {
  const copies = 7;
  const lines = [...multiplyLog(source, source.length * copies)];
  const one = run(source, { format: "postfix" });
  const many = run(lines, { format: "postfix" });

  test("k copies: k times the events of one, every line understood, nothing shared between copies", () => {
    expect(lines.length).toBe(source.length * copies);
    expect(one.events.length).toBeGreaterThan(30);
    const times = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, n * copies]));
    expect(byType(many.events)).toEqual(times(byType(one.events)));
    expect(many.parser.stats.notUnderstood).toBe(0);
    expect(new Set(many.events.map((e) => e.event_id)).size).toBe(many.events.length);
    // Each copy's messages have their own queue ids and Message-IDs.
    const queueIds = new Set(many.events.flatMap((e) => (e.queue_id ? [e.queue_id] : [])));
    expect(queueIds.size).toBe(copies * new Set(one.events.flatMap((e) => (e.queue_id ? [e.queue_id] : []))).size);
  });

  test("notices name their own copy's message", () => {
    const notices = many.events.filter((e) => "notice" in e) as (Event & { notice: { of_queue_id: string; of_message_id?: string } })[];
    expect(notices.length).toBe(copies * one.events.filter((e) => "notice" in e).length);
    for (const n of notices) {
      const original = many.events.find((e) => e.queue_id === n.notice.of_queue_id && !("notice" in e));
      expect(original?.message_id).toBe(n.notice.of_message_id);
      // The copy tag prefixes the Message-ID and suffixes the addresses: the same copy.
      const tag = n.notice.of_message_id!.split(".")[0];
      expect(n.rcpt_to).toBe(`sender.${tag}@sink.test`);
    }
  });

  test("pflogsumm's totals on the multiplied file are hookd's", async () => {
    requireFiles([{ path: PFLOGSUMM, what: "pflogsumm", pkg: "pflogsumm" }]);
    const dir = mkdtempSync(path.join(tmpdir(), "hookd-real-log-"));
    try {
      const file = path.join(dir, "mail.log");
      writeFileSync(file, lines.join("\n") + "\n");
      const { totals } = await runPflogsumm(file);
      expect(totals.delivered).toBeGreaterThan(0);
      expect(hookdTotals(byType(many.events))).toEqual(totals);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
