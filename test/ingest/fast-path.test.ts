// The parse fast paths (envelope caches, ignored lines skipping the correlator, queue-id test
// in place) must not change a single record, event or snapshot: each is checked here against
// the plain path on every corpus file and on the generated benchmark log.
import { describe, expect, test } from "bun:test";
import { generate } from "../../bench/postfix-log.ts";
import { Correlator } from "../../src/ingest/correlate.ts";
import type { LogFormat } from "../../src/config/schema.ts";
import { EnvelopeReader } from "../../src/ingest/formats/index.ts";
import { SyslogReader } from "../../src/ingest/formats/syslog.ts";
import { interpret } from "../../src/ingest/parse/index.ts";
import { isQueueId, isQueueIdAt } from "../../src/ingest/parse/postfix-queue-id.ts";
import { corpusLines, FULL_LINE_FILES, logwatchLines, NOW, whyscreamLines } from "./helpers/corpus.ts";

// Every line twice in a row (the stamp and tag caches hit) and interleaved with the others.
const generated = generate(20_000);
const sources: [string, string[]][] = [
  ...Object.keys(FULL_LINE_FILES).map((f): [string, string[]] => [f, corpusLines(f)]),
  ["logwatch + whyscream", [...logwatchLines(), ...whyscreamLines()].map((l) => l.line)],
  ["generated", generated],
];

describe("envelope caches", () => {
  for (const [name, lines] of sources) {
    test(`${name}: a reader that has seen the lines before reads each as a fresh one does`, () => {
      const shared = new SyslogReader(() => NOW);
      const doubled = lines.flatMap((l) => [l, l]);
      for (const line of [...doubled, ...doubled.toReversed()]) {
        expect(shared.read(line)).toEqual(new SyslogReader(() => NOW).read(line));
      }
    });
  }

  test("a stamp that only starts like the last one is parsed, not reused", () => {
    const r = new SyslogReader(() => NOW);
    expect(r.read("Nov 23 13:07:09 h postfix/qmgr[1]: x")?.ts).toBe(new Date(2026, 10, 23, 13, 7, 9).getTime());
    expect(r.read("Nov 23 13:07:09.5 h postfix/qmgr[1]: x")?.ts).toBe(new Date(2026, 10, 23, 13, 7, 9, 500).getTime());
    expect(r.read("Nov 23 13:07:09 h2 postfix/qmgr[1]: x")).toMatchObject({ host: "h2" });
    expect(r.read("Nov 23 13:07:09 h postfix/qmgr: x")).toEqual({
      ts: new Date(2026, 10, 23, 13, 7, 9).getTime(),
      host: "h",
      program: "qmgr",
      instance: "postfix",
      message: "x",
    });
    // A pid that is not a number: the name is what precedes "[" (as splitTag always did).
    expect(r.read("Nov 23 13:07:09 postfix/qmgr[x]: y")).toMatchObject({ host: "", program: "qmgr", instance: "postfix", message: "y" });
    expect(r.read("Nov 23 13:07:09 h postfix/qmgr[: y")).toMatchObject({ program: "qmgr[", instance: "postfix", message: "y" });
  });

  test("more distinct tags than the cache holds", () => {
    const r = new SyslogReader(() => NOW);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) {
        const line = `Nov 23 13:07:09 h postfix-${i}/smtp[${i}]: m`;
        expect(r.read(line)).toEqual(new SyslogReader(() => NOW).read(line));
      }
    }
  });
});

describe("ignored lines skip the correlator", () => {
  for (const [name, lines] of sources) {
    for (const format of [FULL_LINE_FILES[name] ?? "postfix", "auto"] as const) {
      test(`${name} as ${format}: observe() for ignored lines gives apply()'s events and snapshot`, () => {
        const envelope = new EnvelopeReader(format, () => NOW);
        const all = new Correlator({ maxMessages: 1000, ttlMs: 6 * 86_400_000 });
        const skipping = new Correlator({ maxMessages: 1000, ttlMs: 6 * 86_400_000 });
        let ignored = 0;
        for (const line of lines) {
          const rec = envelope.read(line);
          if (!rec) continue;
          const parsed = interpret(rec);
          if (parsed.kind === "unknown") continue;
          const expected = all.apply(rec, parsed, "h");
          if (parsed.kind === "ignored") {
            ignored++;
            expect(expected).toEqual([]);
            skipping.observe(rec.ts);
          } else expect(skipping.apply(rec, parsed, "h")).toEqual(expected);
        }
        if (name === "generated") expect(ignored).toBeGreaterThan(lines.length / 3);
        expect(skipping.snapshot()).toEqual(all.snapshot());
      });
    }
  }
});

describe("queue id tested in place", () => {
  test("isQueueIdAt(s, a, b) is isQueueId(s.slice(a, b))", () => {
    const samples = [
      "4BCD21C03F2",
      "4HnkK60lBRz6tl1",
      "NOQUEUE",
      "statistics",
      "connect from x[1.2.3.4]",
      "ABCDE",
      "ABCD",
      "z".repeat(33),
      "3Zx1yzT8zKz0001",
      "",
    ];
    for (const s of samples) {
      for (const [pre, post] of [
        ["", ""],
        ["xx ", ": rest"],
      ] as const) {
        const line = pre + s + post;
        expect(isQueueIdAt(line, pre.length, pre.length + s.length)).toBe(isQueueId(s));
      }
    }
  });
});
