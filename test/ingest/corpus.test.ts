// Every corpus file, read whole: no line throws, every event passes EventInput, and what is
// not understood stays rare (the lines named here are known and explained).
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import type { LogFormat } from "../../src/ingest/parse/index.ts";
import { CORPUS_DIR, corpusLines, corpusSections, FULL_LINE_FILES, logwatchLines, whyscreamLines } from "./helpers/corpus.ts";
import { run } from "./helpers/parse.ts";

// Lines whose prefix the reporter elided, and the Exim harness's "******** SERVER ********".
const KNOWN_UNREADABLE = [/^postfix\/smtpd\[\d+\]: NOQUEUE: lost connection/, /^\*+ SERVER \*+$/];

describe("every corpus file", () => {
  test("is covered here", () => {
    const files = readdirSync(CORPUS_DIR)
      .filter((f) => f.endsWith(".log"))
      .sort();
    expect(files).toEqual([...Object.keys(FULL_LINE_FILES), "logwatch-postfix-TD.log", "whyscream-postfix-grok-messages.log"].sort());
  });

  for (const [file, format] of Object.entries(FULL_LINE_FILES)) {
    for (const fmt of [format, "auto"] as const) {
      test(`${file} as ${fmt}: no exception, valid events, only known lines not understood`, () => {
        const lines = corpusLines(file);
        const { parser, events } = run(lines, { format: fmt });
        expect(parser.stats.lines).toBe(lines.length);
        expect(events.length).toBeGreaterThan(0);
        const unknown = lines.filter((l) => {
          const p = run([l], { format: fmt }).parser;
          return p.stats.notUnderstood > 0;
        });
        expect(unknown.filter((l) => !KNOWN_UNREADABLE.some((re) => re.test(l)))).toEqual([]);
        expect(parser.stats.notUnderstood).toBe(unknown.length);
      });
    }
  }

  test("Exim test logs, one parser per embedded log: valid events", () => {
    for (const file of ["exim-test.log", "exim-test-old-ids.log"]) {
      for (const section of corpusSections(file)) run(section, { format: "exim" });
    }
  });

  test("prefix-stripped Postfix catalogues (logwatch, grok patterns), rebuilt as syslog lines", () => {
    const lines = [...logwatchLines(), ...whyscreamLines()];
    let notUnderstood = 0;
    const types = new Set<string>();
    for (const { line } of lines) {
      const { parser, events } = run([line], { format: "postfix" });
      notUnderstood += parser.stats.notUnderstood;
      for (const e of events) types.add(e.type);
    }
    expect(notUnderstood).toBe(0);
    expect([...types].sort()).toEqual(["bounce", "delay", "delivery", "expired", "policy_rejection"]);
  });

  test("stats: events by type, ignored, and bounded not-understood examples", () => {
    const { parser } = run([...corpusLines("postfix-exporter.log"), ...Array.from({ length: 50 }, (_, i) => `junk ${i}`)], {
      format: "postfix",
    });
    const s = parser.stats;
    expect(s.events).toEqual({ delivery: 5, delay: 2, bounce: 1, expired: 2 });
    expect(s.notUnderstood).toBe(52);
    expect(s.recentNotUnderstood.length).toBe(20);
    expect(s.recentNotUnderstood.at(-1)).toBe("junk 49");
    expect(s.lines).toBe(80);
  });

  test("feed never throws, whatever it is given", () => {
    const { parser } = run([
      "",
      "\r",
      "{",
      "{}",
      "\u0000\u0001",
      "Nov 23 13:07:09 h postfix/smtp[1]: ",
      "Nov 23 13:07:09 h postfix/smtp[1]: AAAAAAA: to=<",
      "2026-11-23 13:07:09 10HmaX-000000005vi-0000 => ",
      "x".repeat(100_000),
    ]);
    expect(parser.stats.lines).toBe(9);
  });
});
