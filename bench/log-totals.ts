// The totals operators reconcile hookd with: pflogsumm's "Grand Totals" on a Postfix log, and
// the same four from `hookd parse`'s summary. Shared by the real-Postfix e2e test (they must
// agree on its log) and the parse benchmark (equal counts next to the timings).

/** delivered, deferrals, bounced, rejected: pflogsumm's names, hookd's delivery, delay, bounce, policy_rejection. */
export type Totals = { delivered: number; deferrals: number; bounced: number; rejected: number };

export const PFLOGSUMM = "/usr/sbin/pflogsumm";

/** pflogsumm prints counts over 512k as "1234k": exact below that, which is all these logs need. */
function count(text: string, label: RegExp, what: string): number {
  const m = label.exec(text);
  if (!m?.[1]) throw new Error(`pflogsumm output has no "${what}" line:\n${text.slice(0, 600)}`);
  if (m[2]) throw new Error(`pflogsumm rounded "${what}" to ${m[1]}${m[2]}: too many for an exact comparison`);
  return Number(m[1]);
}

/** The Grand Totals of pflogsumm's report. */
export function pflogsummTotals(report: string): Totals {
  return {
    delivered: count(report, /^\s*(\d+)([km])?\s+delivered$/m, "delivered"),
    deferrals: count(report, /^\s*\d+[km]?\s+deferred\s+\(\s*(\d+)([km])?\s+deferrals\)$/m, "deferrals"),
    bounced: count(report, /^\s*(\d+)([km])?\s+bounced$/m, "bounced"),
    rejected: count(report, /^\s*(\d+)([km])?\s+rejected \(/m, "rejected"),
  };
}

/** Runs pflogsumm on a file; its totals and its wall time. */
export async function runPflogsumm(file: string): Promise<{ totals: Totals; ms: number }> {
  const t0 = performance.now();
  const p = Bun.spawn([PFLOGSUMM, file], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`pflogsumm ${file} exited ${code}: ${err.slice(0, 400)}`);
  return { totals: pflogsummTotals(out), ms };
}

/** The same totals from events counted by type (hookd parse's stderr summary, or received events). */
export function hookdTotals(byType: Record<string, number>): Totals {
  return {
    delivered: byType.delivery ?? 0,
    deferrals: byType.delay ?? 0,
    bounced: byType.bounce ?? 0,
    rejected: byType.policy_rejection ?? 0,
  };
}

/** Event counts by type from `hookd parse`'s summary ("… N events (delivery 8, injection 9, …)"). */
export function parseSummaryCounts(stderr: string): Record<string, number> {
  const m = /; \d+ events(?: \(([^)]*)\))?/.exec(stderr);
  if (!m) throw new Error(`no event summary in hookd parse's output:\n${stderr.slice(0, 600)}`);
  const out: Record<string, number> = {};
  for (const part of (m[1] ?? "").split(", ").filter(Boolean)) {
    const [type, n] = part.split(" ");
    if (type && n) out[type] = Number(n);
  }
  return out;
}

/**
 * eximstats' grand totals on an Exim main log: messages received, addresses delivered, and
 * messages with at least one address delayed / failed.
 */
export type EximTotals = { received: number; delivered: number; delayed: number; failed: number };

export function eximstatsTotals(report: string): EximTotals {
  const received = /^\s*Received\s+\S+\s+(\d+)\s+\d+\s+(\d+)\s+\S+\s+(\d+)\s/m.exec(report);
  const delivered = /^\s*Delivered\s+\S+\s+\d+\s+(\d+)\s/m.exec(report);
  if (!received || !delivered) throw new Error(`eximstats output has no grand totals:\n${report.slice(0, 600)}`);
  return { received: Number(received[1]), delivered: Number(delivered[1]), delayed: Number(received[2]), failed: Number(received[3]) };
}

/** The same from hookd's events: distinct messages injected, delayed, failed (bounce or expired); deliveries. */
export function hookdEximTotals(events: readonly { type: string; queue_id?: string }[]): EximTotals {
  const messages = (types: string[]) => new Set(events.filter((e) => types.includes(e.type)).map((e) => e.queue_id)).size;
  return {
    received: messages(["injection"]),
    delivered: events.filter((e) => e.type === "delivery").length,
    delayed: messages(["delay"]),
    failed: messages(["bounce", "expired"]),
  };
}
