// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that
// read GET /metrics. It rejects what a scraper would reject, and more that the format
// forbids but lenient scrapers let through:
//   - every sample belongs to a family announced by one # HELP and one # TYPE line, both
//     before the family's first sample; a family's lines form one group (never reopened);
//   - names and label names are valid; label values use only the escapes \\ \" \n;
//   - a series (name + label set) appears once; values are floats, NaN or ±Inf;
//   - counters are never negative; histograms have only _bucket/_sum/_count samples, and per
//     label set the `le` bounds ascend and end with +Inf, bucket counts are cumulative, and
//     the +Inf bucket equals _count.
// Parsing is by a character scanner, never by regex over the whole line, so an escaped quote
// or comma inside a label value cannot cut a label short.

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export type Sample = {
  /** The sample's own name, e.g. hookd_attempt_duration_seconds_bucket. */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
  line: number;
};

export type MetricFamily = { name: string; help: string; type: MetricType; samples: Sample[] };

export type Exposition = {
  families: Map<string, MetricFamily>;
  /** Samples of `name` (a sample name, e.g. x_bucket) whose labels include `labels`. */
  samples(name: string, labels?: Record<string, string>): Sample[];
  /** The value of the one series `name` with exactly these labels; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
};

export class ExpositionError extends Error {
  constructor(
    readonly lineNo: number,
    message: string,
    readonly lineText = "",
  ) {
    super(`line ${lineNo}: ${message}${lineText ? `\n  ${JSON.stringify(lineText)}` : ""}`);
    this.name = "ExpositionError";
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ["counter", "gauge", "histogram", "summary", "untyped"];
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseFloatStrict(text: string): number | null {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return FLOAT.test(text) ? Number(text) : null;
}

function unescapeHelp(text: string, lineNo: number, line: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === "\\") out += "\\";
    else if (n === "n") out += "\n";
    else throw new ExpositionError(lineNo, `invalid escape "\\${n ?? ""}" in HELP text`, line);
  }
  return out;
}

const isBlank = (c: string | undefined) => c === " " || c === "\t";

/** One sample line → name, labels, value, timestamp. */
function parseSampleLine(line: string, lineNo: number): Omit<Sample, "line"> {
  const fail = (why: string): never => {
    throw new ExpositionError(lineNo, why, line);
  };
  let i = 0;
  while (i < line.length && !isBlank(line[i]) && line[i] !== "{") i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) fail(`invalid metric name "${name}"`);
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (isBlank(line[i])) i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i]!)) i++;
      const labelName = line.slice(start, i);
      if (!LABEL_NAME.test(labelName)) fail(`invalid label name "${labelName}"`);
      if (labelName.startsWith("__")) fail(`label name "${labelName}" is reserved`);
      if (Object.hasOwn(labels, labelName)) fail(`label "${labelName}" given twice`);
      while (isBlank(line[i])) i++;
      if (line[i] !== "=") fail(`expected "=" after label name "${labelName}"`);
      i++;
      while (isBlank(line[i])) i++;
      if (line[i] !== '"') fail(`expected '"' to open the value of label "${labelName}"`);
      i++;
      let value = "";
      for (;;) {
        if (i >= line.length) fail(`unterminated value of label "${labelName}"`);
        const c = line[i++]!;
        if (c === '"') break;
        if (c !== "\\") {
          value += c;
          continue;
        }
        const n = line[i++];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else fail(`invalid escape "\\${n ?? ""}" in the value of label "${labelName}"`);
      }
      labels[labelName] = value;
      while (isBlank(line[i])) i++;
      if (line[i] === ",") {
        i++;
        continue;
      }
      if (line[i] === "}") {
        i++;
        break;
      }
      fail(`expected "," or "}" after the value of label "${labelName}"`);
    }
  }
  if (!isBlank(line[i])) fail("expected a blank before the value");
  const rest = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "") fail("expected a value and at most a timestamp after the name");
  const value = parseFloatStrict(rest[0]!);
  if (value === null) fail(`invalid value "${rest[0]}"`);
  let timestampMs: number | undefined;
  if (rest.length === 2) {
    if (!/^-?\d+$/.test(rest[1]!)) fail(`invalid timestamp "${rest[1]}"`);
    timestampMs = Number(rest[1]);
  }
  return { name, labels, value: value!, ...(timestampMs === undefined ? {} : { timestampMs }) };
}

/** The family a sample name belongs to, given the families announced so far. */
function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const exact = families.get(sampleName);
  if (exact && exact.type !== "histogram") return exact;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const f = families.get(sampleName.slice(0, -suffix.length));
    if (f && (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))) return f;
  }
  return exact; // a histogram's bare name: rejected by the histogram check
}

const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",")}}`;

/** Parses and validates; throws ExpositionError naming the line on the first violation. */
export function parseExposition(text: string): Exposition {
  if (text.length > 0 && !text.endsWith("\n"))
    throw new ExpositionError(text.split("\n").length, "the exposition must end with a line feed");
  if (text.includes("\r"))
    throw new ExpositionError(text.slice(0, text.indexOf("\r")).split("\n").length, "carriage return in the exposition");
  const lines = text.split("\n");
  lines.pop(); // after the final "\n"
  const families = new Map<string, MetricFamily>();
  const meta = new Map<string, { help?: number; type?: number }>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = null;

  const enter = (name: string, lineNo: number, line: string) => {
    if (current === name) return;
    if (closed.has(name)) throw new ExpositionError(lineNo, `lines of family "${name}" are not in one group`, line);
    if (current !== null) closed.add(current);
    current = name;
  };

  lines.forEach((line, idx) => {
    const lineNo = idx + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) {
        if (/^#\s*(HELP|TYPE)\b/.test(line)) throw new ExpositionError(lineNo, "malformed HELP or TYPE line", line);
        return; // a plain comment
      }
      const [, kind, name, rest = ""] = m;
      if (!METRIC_NAME.test(name!)) throw new ExpositionError(lineNo, `invalid metric name "${name}"`, line);
      enter(name!, lineNo, line);
      const info = meta.get(name!) ?? {};
      meta.set(name!, info);
      const f = families.get(name!) ?? { name: name!, help: "", type: "untyped" as MetricType, samples: [] };
      families.set(name!, f);
      if (f.samples.length > 0) throw new ExpositionError(lineNo, `${kind} for "${name}" after its first sample`, line);
      if (kind === "HELP") {
        if (info.help !== undefined) throw new ExpositionError(lineNo, `second HELP for "${name}" (first at line ${info.help})`, line);
        info.help = lineNo;
        f.help = unescapeHelp(rest, lineNo, line);
      } else {
        if (info.type !== undefined) throw new ExpositionError(lineNo, `second TYPE for "${name}" (first at line ${info.type})`, line);
        if (!TYPES.includes(rest as MetricType)) throw new ExpositionError(lineNo, `unknown type "${rest}"`, line);
        info.type = lineNo;
        f.type = rest as MetricType;
      }
      return;
    }
    const s = parseSampleLine(line, lineNo);
    const f = familyOf(s.name, families);
    if (!f) throw new ExpositionError(lineNo, `sample "${s.name}" has no # HELP / # TYPE family before it`, line);
    const info = meta.get(f.name)!;
    if (info.help === undefined) throw new ExpositionError(lineNo, `family "${f.name}" has no # HELP line`, line);
    if (info.type === undefined) throw new ExpositionError(lineNo, `family "${f.name}" has no # TYPE line`, line);
    enter(f.name, lineNo, line);
    const key = seriesKey(s.name, s.labels);
    if (seen.has(key)) throw new ExpositionError(lineNo, `series ${key} appears twice`, line);
    seen.add(key);
    f.samples.push({ ...s, line: lineNo });
  });

  for (const f of families.values()) validateFamily(f);

  const samples = (name: string, labels: Record<string, string> = {}) => {
    const out: Sample[] = [];
    for (const f of families.values())
      for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
    return out;
  };
  return {
    families,
    samples,
    value(name, labels = {}) {
      const want = seriesKey(name, labels);
      return samples(name, labels).find((s) => seriesKey(s.name, s.labels) === want)?.value;
    },
  };
}

function validateFamily(f: MetricFamily) {
  const fail = (s: Sample | undefined, why: string): never => {
    throw new ExpositionError(s?.line ?? 0, `family "${f.name}" (${f.type}): ${why}`);
  };
  if (f.type === "counter" || f.type === "gauge" || f.type === "untyped") {
    for (const s of f.samples) {
      if (s.name !== f.name) fail(s, `sample name "${s.name}" differs from the family name`);
      if (f.type === "counter" && !(s.value >= 0)) fail(s, `counter value ${s.value} is negative or NaN`);
    }
    return;
  }
  if (f.type === "summary") {
    for (const s of f.samples)
      if (s.name === f.name && s.labels.quantile === undefined) fail(s, "a summary sample without a quantile label");
    return;
  }
  // histogram: group by the labels other than le.
  type Group = { buckets: Sample[]; sum?: Sample; count?: Sample };
  const groups = new Map<string, Group>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = seriesKey("", rest);
    const g = groups.get(k) ?? { buckets: [] };
    groups.set(k, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) fail(s, "a _bucket sample without an le label");
      g.buckets.push(s);
    } else if (s.name === `${f.name}_sum`) {
      if (le !== undefined) fail(s, "le label on _sum");
      g.sum = s;
    } else if (s.name === `${f.name}_count`) {
      if (le !== undefined) fail(s, "le label on _count");
      g.count = s;
    } else fail(s, `sample "${s.name}" is not a _bucket, _sum or _count`);
  }
  for (const [k, g] of groups) {
    const last = g.buckets.at(-1);
    if (!last) fail(g.sum ?? g.count, `series ${k} has no buckets`);
    if (!g.count) fail(last, `series ${k} has no _count`);
    if (!g.sum) fail(last, `series ${k} has no _sum`);
    let prevLe = -Infinity;
    let prevCount = 0;
    for (const b of g.buckets) {
      const le = parseFloatStrict(b.labels.le!);
      if (le === null || Number.isNaN(le)) fail(b, `le="${b.labels.le}" is not a number`);
      if (!(le! > prevLe)) fail(b, `le bounds do not ascend (${prevLe} then ${le})`);
      if (!Number.isInteger(b.value) || b.value < 0) fail(b, `bucket count ${b.value} is not a non-negative integer`);
      if (b.value < prevCount) fail(b, `buckets are not cumulative (${prevCount} then ${b.value} at le="${b.labels.le}")`);
      prevLe = le!;
      prevCount = b.value;
    }
    if (last!.labels.le !== "+Inf") fail(last, `the last bucket of ${k} is le="${last!.labels.le}", not le="+Inf"`);
    if (last!.value !== g.count!.value) fail(g.count, `the +Inf bucket (${last!.value}) differs from _count (${g.count!.value}) for ${k}`);
    if (Number.isNaN(g.sum!.value)) fail(g.sum, "_sum is NaN");
  }
}
