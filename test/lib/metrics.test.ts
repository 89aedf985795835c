// The Prometheus registry (src/lib/metrics.ts): what it renders must parse with a strict
// parser of the text format (test/helpers/prometheus.ts), and the figures must be right.
// The parser's own strictness is checked at the end, so a passing scrape means something.
import { describe, expect, test } from "bun:test";
import { Metrics } from "../../src/lib/metrics.ts";
import { ExpositionError, parseExposition } from "../helpers/prometheus.ts";

describe("Metrics registry", () => {
  test("an empty registry renders a valid, empty exposition", async () => {
    const text = await new Metrics().render();
    expect(parseExposition(text).families.size).toBe(0);
  });

  test("counters: HELP and TYPE once, one series per label set, inc by 1 or n", async () => {
    const m = new Metrics();
    const c = m.counter("jobs_total", "Jobs done.");
    c.inc();
    c.inc({ kind: "a" });
    c.inc({ kind: "a" }, 4);
    c.inc({ kind: "b" }, 2);
    const text = await m.render();
    expect(text.split("\n").filter((l) => l.startsWith("# HELP jobs_total"))).toEqual(["# HELP jobs_total Jobs done."]);
    expect(text.split("\n").filter((l) => l.startsWith("# TYPE jobs_total"))).toEqual(["# TYPE jobs_total counter"]);
    const p = parseExposition(text);
    const f = p.families.get("jobs_total")!;
    expect(f).toMatchObject({ type: "counter", help: "Jobs done." });
    expect(f.samples).toHaveLength(3);
    expect(p.value("jobs_total")).toBe(1);
    expect(p.value("jobs_total", { kind: "a" })).toBe(5);
    expect(p.value("jobs_total", { kind: "b" })).toBe(2);
  });

  test("the same labels given in another order are the same series", async () => {
    const m = new Metrics();
    const c = m.counter("x_total", "X.");
    c.inc({ a: "1", b: "2" });
    c.inc({ b: "2", a: "1" });
    const p = parseExposition(await m.render());
    expect(p.families.get("x_total")!.samples).toHaveLength(1);
    expect(p.value("x_total", { a: "1", b: "2" })).toBe(2);
  });

  test("asking for a metric twice returns the same family", async () => {
    const m = new Metrics();
    m.counter("x_total", "X.").inc({ k: "v" });
    m.counter("x_total", "X.").inc({ k: "v" }, 2);
    const p = parseExposition(await m.render());
    expect(p.families.size).toBe(1);
    expect(p.value("x_total", { k: "v" })).toBe(3);
  });

  test("label values with backslashes, quotes, newlines, commas, braces and UTF-8 are escaped and round-trip", async () => {
    const m = new Metrics();
    const g = m.gauge("odd_labels", "Odd label values.");
    const values = ["C:\\logs\\mail.log", 'say "hi"', "two\nlines", "a,b=c}{", "/var/log/maillog ünïcødé", "trailing\\", ""];
    values.forEach((v, i) => g.set({ source: v }, i + 1));
    const text = await m.render();
    // Escaped on the wire: no raw newline inside a sample line.
    expect(text).toContain('source="C:\\\\logs\\\\mail.log"');
    expect(text).toContain('source="say \\"hi\\""');
    expect(text).toContain('source="two\\nlines"');
    const p = parseExposition(text);
    values.forEach((v, i) => expect(p.value("odd_labels", { source: v })).toBe(i + 1));
  });

  test("HELP text with a backslash or a newline is escaped as the format requires", async () => {
    const m = new Metrics();
    m.counter("help_total", "Lines of C:\\mail.log.\nSecond line.").inc();
    const p = parseExposition(await m.render());
    expect(p.families.get("help_total")!.help).toBe("Lines of C:\\mail.log.\nSecond line.");
    expect(p.value("help_total")).toBe(1);
  });

  test("gauges: set replaces, clear removes every series, a cleared family still has HELP and TYPE", async () => {
    const m = new Metrics();
    const g = m.gauge("depth", "Depth.");
    g.set({ w: "a" }, 5);
    g.set({ w: "a" }, 3);
    g.set({ w: "b" }, 0);
    let p = parseExposition(await m.render());
    expect(p.value("depth", { w: "a" })).toBe(3);
    expect(p.value("depth", { w: "b" })).toBe(0);
    g.clear();
    const text = await m.render();
    p = parseExposition(text);
    expect(p.families.get("depth")).toMatchObject({ type: "gauge", help: "Depth.", samples: [] });
    g.set({}, 1.5);
    expect(parseExposition(await m.render()).value("depth")).toBe(1.5);
  });

  test("special float values render as NaN, +Inf and -Inf", async () => {
    const m = new Metrics();
    const g = m.gauge("g", "G.");
    g.set({ v: "nan" }, NaN);
    g.set({ v: "inf" }, Infinity);
    g.set({ v: "-inf" }, -Infinity);
    g.set({ v: "tiny" }, 1e-7);
    g.set({ v: "huge" }, 1e21);
    const p = parseExposition(await m.render());
    expect(p.value("g", { v: "nan" })).toBeNaN();
    expect(p.value("g", { v: "inf" })).toBe(Infinity);
    expect(p.value("g", { v: "-inf" })).toBe(-Infinity);
    expect(p.value("g", { v: "tiny" })).toBe(1e-7);
    expect(p.value("g", { v: "huge" })).toBe(1e21);
  });

  test("histograms: cumulative buckets, le inclusive, +Inf equals _count, _sum adds up, one set per label set", async () => {
    const m = new Metrics();
    const h = m.histogram("lat_seconds", "Latency.", [0.1, 0.5, 1]);
    for (const v of [0.05, 0.1, 0.3, 0.5, 0.7, 2, 5]) h.observe({ w: "a" }, v);
    h.observe({ w: "b" }, 0.2);
    const p = parseExposition(await m.render());
    expect(p.families.get("lat_seconds")!.type).toBe("histogram");
    const bucket = (w: string, le: string) => p.value("lat_seconds_bucket", { w, le });
    expect([bucket("a", "0.1"), bucket("a", "0.5"), bucket("a", "1"), bucket("a", "+Inf")]).toEqual([2, 4, 5, 7]);
    expect(p.value("lat_seconds_count", { w: "a" })).toBe(7);
    expect(p.value("lat_seconds_sum", { w: "a" })).toBeCloseTo(0.05 + 0.1 + 0.3 + 0.5 + 0.7 + 2 + 5, 9);
    expect([bucket("b", "0.1"), bucket("b", "0.5"), bucket("b", "1"), bucket("b", "+Inf")]).toEqual([0, 1, 1, 1]);
    expect(p.value("lat_seconds_count", { w: "b" })).toBe(1);
    // Buckets in ascending le order, +Inf last, per label set.
    const les = p.samples("lat_seconds_bucket", { w: "a" }).map((s) => s.labels.le);
    expect(les).toEqual(["0.1", "0.5", "1", "+Inf"]);
  });

  test("a histogram without labels renders valid bucket lines", async () => {
    const m = new Metrics();
    const h = m.histogram("plain_seconds", "Plain.", [1, 2]);
    h.observe({}, 1.5);
    const p = parseExposition(await m.render());
    expect(p.value("plain_seconds_bucket", { le: "1" })).toBe(0);
    expect(p.value("plain_seconds_bucket", { le: "2" })).toBe(1);
    expect(p.value("plain_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(p.value("plain_seconds_count")).toBe(1);
    expect(p.value("plain_seconds_sum")).toBe(1.5);
  });

  test("collectors run at every scrape, before rendering", async () => {
    const m = new Metrics();
    const g = m.gauge("scrapes_seen", "Scrapes.");
    let n = 0;
    m.collect(() => {
      g.set({}, ++n);
    });
    expect(parseExposition(await m.render()).value("scrapes_seen")).toBe(1);
    expect(parseExposition(await m.render()).value("scrapes_seen")).toBe(2);
  });

  test("a collector that reads something first (the store) is awaited before rendering", async () => {
    const m = new Metrics();
    const g = m.gauge("queue_depth", "Depth.");
    m.collect(async () => {
      const depth = await new Promise<number>((resolve) => setImmediate(() => resolve(7)));
      g.set({}, depth);
    });
    expect(parseExposition(await m.render()).value("queue_depth")).toBe(7);
  });

  test("several families render as separate groups, each valid", async () => {
    const m = new Metrics();
    m.counter("a_total", "A.").inc({ x: "1" });
    m.gauge("b", "B.").set({ x: "1" }, 2);
    m.histogram("c_seconds", "C.", [1]).observe({ x: "1" }, 0.5);
    m.counter("a_total", "A.").inc({ x: "2" });
    const p = parseExposition(await m.render());
    expect([...p.families.keys()]).toEqual(["a_total", "b", "c_seconds"]);
    expect(p.value("a_total", { x: "2" })).toBe(1);
  });
});

describe("the strict exposition parser used by these tests", () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n';
  const bad: [string, string, RegExp][] = [
    ["a sample without HELP or TYPE", "a_total 1\n", /no # HELP/],
    ["a sample with TYPE but no HELP", "# TYPE a_total counter\na_total 1\n", /no # HELP/],
    ["a sample with HELP but no TYPE", "# HELP a_total A.\na_total 1\n", /no # TYPE/],
    ["no final line feed", ok.slice(0, -1), /line feed/],
    ["an invalid escape in a label value", '# HELP a A.\n# TYPE a gauge\na{x="t\\tab"} 1\n', /invalid escape/],
    ["an unterminated label value", '# HELP a A.\n# TYPE a gauge\na{x="open} 1\n', /unterminated/],
    ["a raw quote cutting a label value", '# HELP a A.\n# TYPE a gauge\na{x="say "hi""} 1\n', /expected "," or "}"/],
    ["a duplicate series", ok + 'a_total{x="1"} 4\n', /appears twice/],
    ["a family reopened", ok + '# HELP b B.\n# TYPE b gauge\nb 1\na_total{x="2"} 1\n', /not in one group/],
    ["a second TYPE", "# HELP a A.\n# TYPE a gauge\n# TYPE a gauge\na 1\n", /second TYPE/],
    ["TYPE after samples", "# HELP a A.\na 1\n# TYPE a gauge\n", /no # TYPE/],
    ["an unknown type", "# HELP a A.\n# TYPE a meter\na 1\n", /unknown type/],
    ["a bad value", "# HELP a A.\n# TYPE a gauge\na one\n", /invalid value/],
    ["a bad metric name", "# HELP 1a A.\n# TYPE 1a gauge\n1a 1\n", /invalid metric name/],
    ["a negative counter", "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n", /negative/],
    [
      "non-cumulative buckets",
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="2"} 2\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n',
      /not cumulative/,
    ],
    ["no +Inf bucket", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /not le="\+Inf"/],
    ["+Inf differing from _count", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /differs from _count/],
    ["no _count", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\n', /no _count/],
    [
      "le out of order",
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      /do not ascend/,
    ],
    ["a bare histogram sample", "# HELP h H.\n# TYPE h histogram\nh 1\n", /not a _bucket/],
  ];
  for (const [what, text, why] of bad) {
    test(`rejects ${what}`, () => {
      let err: unknown = null;
      try {
        parseExposition(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExpositionError);
      expect((err as Error).message).toMatch(why);
    });
  }

  test("accepts a valid exposition with comments, escapes and a timestamp", async () => {
    const p = parseExposition(
      '# a plain comment\n# HELP a_total A \\\\ b\\nc.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n",y="2",} 3 1700000000000\n',
    );
    expect(p.families.get("a_total")!.help).toBe("A \\ b\nc.");
    expect(p.value("a_total", { x: 'q"\\\n', y: "2" })).toBe(3);
    expect(p.samples("a_total")[0]!.timestampMs).toBe(1700000000000);
  });
});
