// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format (version 0.0.4). Collectors run at scrape time for figures that
// live in the store (queue depth, store size), so they are never stale.

type Labels = Record<string, string>;
type Kind = "counter" | "gauge" | "histogram";

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`)
    .join(",");
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

class Family {
  readonly values = new Map<string, number>();
  readonly hist = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
    readonly bounds: number[] = [],
  ) {}

  render(out: string[]) {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${this.name} ${this.kind}`);
    if (this.kind !== "histogram") {
      for (const [k, v] of this.values) out.push(`${this.name}${k ? `{${k}}` : ""} ${fmt(v)}`);
      return;
    }
    for (const [k, h] of this.hist) {
      const sep = k ? `${k},` : "";
      this.bounds.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${fmt(b)}"} ${h.buckets[i]}`));
      out.push(
        `${this.name}_bucket{${sep}le="+Inf"} ${h.count}`,
        `${this.name}_sum${k ? `{${k}}` : ""} ${h.sum}`,
        `${this.name}_count${k ? `{${k}}` : ""} ${h.count}`,
      );
    }
  }
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly collectors: ((m: Metrics) => void | Promise<void>)[] = [];

  private family(name: string, help: string, kind: Kind, bounds?: number[]): Family {
    let f = this.families.get(name);
    if (!f) {
      f = new Family(name, help, kind, bounds);
      this.families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string) {
    const f = this.family(name, help, "counter");
    return {
      inc: (labels: Labels = {}, by = 1) => {
        const k = key(labels);
        f.values.set(k, (f.values.get(k) ?? 0) + by);
      },
    };
  }

  gauge(name: string, help: string) {
    const f = this.family(name, help, "gauge");
    return {
      set: (labels: Labels, v: number) => f.values.set(key(labels), v),
      clear: () => f.values.clear(),
    };
  }

  histogram(name: string, help: string, bounds: number[]) {
    const f = this.family(name, help, "histogram", bounds);
    return {
      observe: (labels: Labels, v: number) => {
        const k = key(labels);
        let h = f.hist.get(k);
        if (!h) f.hist.set(k, (h = { buckets: bounds.map(() => 0), sum: 0, count: 0 }));
        bounds.forEach((b, i) => {
          if (v <= b) h!.buckets[i]!++;
        });
        h.sum += v;
        h.count++;
      },
    };
  }

  /** Runs at every scrape, before rendering (one at a time, in the order added). */
  collect(fn: (m: Metrics) => void | Promise<void>) {
    this.collectors.push(fn);
  }

  async render(): Promise<string> {
    for (const c of this.collectors) await c(this);
    const out: string[] = [];
    for (const f of this.families.values()) f.render(out);
    return out.join("\n") + "\n";
  }
}
