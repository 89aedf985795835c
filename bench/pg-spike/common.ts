// Shared by the PostgreSQL spike's prototypes: a throwaway server, timing, a printed table.
import { SQL } from "bun";
import { startPgServer, type PgServer, type PgServerOptions } from "../../scripts/pg-test-server.ts";
import type { Event } from "../../src/events/schema.ts";
import { eventRows, type EventRows } from "../../src/store/event-rows.ts";
import { makeEvents } from "../perf-common.ts";

export { makeEvents };

/** Runs `fn` against a fresh server (durable: fsync on, as in production, unless told otherwise). */
export async function withPg<T>(fn: (pg: PgServer) => Promise<T>, opts: PgServerOptions = { durable: true }): Promise<T> {
  const pg = await startPgServer(opts);
  try {
    return await fn(pg);
  } finally {
    await pg.stop();
  }
}

export function connect(url: string, max = 1): SQL {
  return new SQL(url, { max, idleTimeout: 0 });
}

export type Stats = { n: number; meanUs: number; p50Us: number; p99Us: number };

/** Times `n` runs of `fn` (after `warm` unmeasured ones), sequentially. */
export async function timeIt(n: number, fn: (i: number) => unknown, warm = Math.min(50, Math.ceil(n / 10))): Promise<Stats> {
  for (let i = 0; i < warm; i++) await fn(-1 - i);
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    us.push((performance.now() - t) * 1000);
  }
  us.sort((a, b) => a - b);
  return { n, meanUs: us.reduce((a, b) => a + b, 0) / n, p50Us: us[Math.floor(n / 2)]!, p99Us: us[Math.min(n - 1, Math.floor(n * 0.99))]! };
}

/**
 * Times the variants in rounds, each round in a fresh random order, so that drift (a table
 * that grows, a WAL checkpoint, another process's load) falls on all of them alike.
 */
export async function timeRounds(
  rounds: number,
  variants: Record<string, (i: number) => unknown>,
  warm = 3,
): Promise<Record<string, Stats>> {
  const names = Object.keys(variants);
  const us: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -warm; r < rounds; r++) {
    const order = [...names].sort(() => Math.random() - 0.5);
    for (const n of order) {
      const t = performance.now();
      await variants[n]!(r);
      if (r >= 0) us[n]!.push((performance.now() - t) * 1000);
    }
  }
  const out: Record<string, Stats> = {};
  for (const n of names) {
    const s = us[n]!.sort((a, b) => a - b);
    out[n] = {
      n: s.length,
      meanUs: s.reduce((a, b) => a + b, 0) / s.length,
      p50Us: s[Math.floor(s.length / 2)]!,
      p99Us: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!,
    };
  }
  return out;
}

export const fmtUs = (us: number) =>
  us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;

/** Prints rows of label → cells as an aligned table. */
export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  console.log(`\n## ${title}`);
  for (const [k, r] of cells.entries()) {
    // Figures right-aligned, words left-aligned.
    const numeric = (c: string) => /^[-+]?[\d.,]+( ?(µs|ms|s|%|×))?$/.test(c);
    console.log(
      r
        .map((c, i) => (i > 0 && numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    );
    if (k === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

/** `n` events as the store writes them (the ingest worker's rows). */
export function rowsOf(n: number, prefix: string): EventRows {
  return eventRows(makeEvents(n, prefix) as unknown as Event[]);
}
